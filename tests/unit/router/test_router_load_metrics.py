"""How full each team is, and who reports it: the router deciding now, and only it."""

from __future__ import annotations

import math
from collections.abc import Iterable

from aiokafka import TopicPartition
from prometheus_client import REGISTRY

from kintsugi.common import metrics
from kintsugi.common.ids import Cause
from services.router.adapters.kafka import RouterEventHandler
from services.router.domain.desk import Desk, TeamLoad
from services.router.service import Router
from tests.unit.router.desk_fixtures import NOW, complaint, team_of, worker
from tests.unit.router.fakes import AnnouncedDecisions, InMemoryCases


def test_a_team_is_as_full_as_its_load_over_the_capacity_of_those_online() -> None:
    desk = Desk(team_of(worker("ann", capacity=3), worker("bob", capacity=2, presence="away")))
    assert desk.team_loads() == [TeamLoad("care", queued=0, load=0, capacity_online=3)]
    assert desk.team_loads()[0].utilisation == 0.0

    for n in (1, 2, 3, 4):  # bob is away: ann takes three, the fourth waits
        desk.classified(complaint(n), f"e{n}", NOW)

    [care] = desk.team_loads()
    assert (care.queued, care.load, care.capacity_online, care.utilisation) == (1, 3, 3, 1.0)


def test_open_work_while_nobody_is_online_is_unbounded_utilisation() -> None:
    desk = Desk(team_of(worker("ann", capacity=4)))
    desk.classified(complaint(1), "e1", NOW)
    desk.presence_changed("ann", "offline", None, "p1", NOW)

    [care] = desk.team_loads()
    assert (care.load, care.capacity_online) == (1, 0)
    assert math.isinf(care.utilisation)


class _NoState:
    """The compacted store's restore and forget, with nothing in it."""

    def forget(self, partitions: Iterable[int]) -> None:
        return None

    async def restore(self, partitions: Iterable[int]) -> None:
        return None


def _gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_only_the_replica_holding_the_inbox_reports_load_and_queues() -> None:
    directory = team_of(worker("ann", capacity=1), worker("bob", capacity=2))
    router = Router(directory, InMemoryCases(), AnnouncedDecisions())
    handler = RouterEventHandler(router, _NoState(), lambda: NOW, 6)  # type: ignore[arg-type]
    inbox = {TopicPartition("router-inbox", 0)}
    try:
        await handler.partitions_assigned(inbox)
        for n in (1, 2, 3, 4):
            await router.classified(complaint(n), Cause(f"e{n}", f"e{n}"), NOW)

        assert _gauge(metrics.ROUTER_QUEUE_DEPTH, team="care") == 1
        assert _gauge(metrics.ROUTER_TEAM_UTILISATION, team="care") == 1.0
        assert _gauge(metrics.ROUTER_TEAM_CAPACITY_ONLINE, team="care") == 3
        assert _gauge(metrics.HANDLER_OPEN_COMPLAINTS, team="care", handler="bob") == 2

        # The inbox moves to another replica: this one stops reporting rather than going stale.
        await handler.partitions_revoked(inbox)
        assert _gauge(metrics.ROUTER_QUEUE_DEPTH, team="care") is None
        await handler.partitions_assigned(set())
        assert _gauge(metrics.HANDLER_OPEN_COMPLAINTS, team="care", handler="bob") is None
    finally:
        metrics.ROUTER_DESK.bind(None)
