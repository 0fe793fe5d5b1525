"""Router: decisions saved before announced, redeliveries re-announce, state survives a restart."""

from __future__ import annotations

import pytest

from kintsugi.common.ids import Cause, derived_id
from services.router.domain.desk import Assigned, Escalated, Queued
from services.router.domain.records import StoredCase
from services.router.service import Router, assignments
from tests.unit.router.desk_fixtures import (
    NOW,
    complaint,
    message,
    resolution,
    team_of,
    warning,
    worker,
)
from tests.unit.router.fakes import AnnouncedDecisions, InMemoryCases


def cause(event_id: str) -> Cause:
    return Cause(event_id=event_id, correlation_id="received-1")


@pytest.fixture
def store() -> InMemoryCases:
    return InMemoryCases()


@pytest.fixture
def events() -> AnnouncedDecisions:
    return AnnouncedDecisions()


def a_router(store: InMemoryCases, events: AnnouncedDecisions, capacity: int = 3) -> Router:
    return Router(
        team_of(worker("ann", capacity=capacity), worker("bob", capacity=capacity)), store, events
    )


async def test_a_new_complaint_is_assigned_saved_and_announced(
    store: InMemoryCases, events: AnnouncedDecisions
) -> None:
    router = a_router(store, events)

    [decision] = await router.classified(complaint(1), cause("classified-1"), NOW)

    assert isinstance(decision, Assigned) and decision.handler_id == "ann"
    assert decision.event_id == derived_id("classified-1", "assigned")
    saved = store.get("c1")
    assert saved is not None and saved.case.handler_id == "ann"
    assert events.announced == [(decision, cause("classified-1"))]


async def test_a_redelivery_re_announces_the_same_decision_and_decides_nothing_new(
    store: InMemoryCases, events: AnnouncedDecisions
) -> None:
    router = a_router(store, events)
    first = await router.classified(complaint(1), cause("classified-1"), NOW)

    again = await router.classified(complaint(1), cause("classified-1"), NOW)

    assert again == first
    assert [d.event_id for d, _ in events.announced] == [first[0].event_id] * 2
    assert router.desk.load == {"ann": 1}


async def test_after_a_crash_between_saving_and_announcing_a_restart_announces_the_saved_decision(
    store: InMemoryCases, events: AnnouncedDecisions
) -> None:
    events.fail = True
    with pytest.raises(ConnectionError):
        await a_router(store, events).classified(complaint(1), cause("classified-1"), NOW)
    events.fail = False
    # Meanwhile load changed: a fresh decision would pick Bob; the saved one is Ann.
    restarted = a_router(store, events)
    restarted.desk.load["ann"] = 2

    [again] = await restarted.classified(complaint(1), cause("classified-1"), NOW)

    assert isinstance(again, Assigned) and again.handler_id == "ann"


async def test_load_queue_and_escalations_are_rebuilt_from_the_store_on_start(
    store: InMemoryCases, events: AnnouncedDecisions
) -> None:
    router = a_router(store, events, capacity=1)
    for n in (1, 2, 3):
        await router.classified(complaint(n), cause(f"classified-{n}"), NOW)
    await router.clock_alert(warning("c1"), cause("warn-c1"))

    restarted = a_router(store, events, capacity=1)

    assert restarted.desk.load == {"ann": 1, "bob": 1}
    assert [c.complaint_id for c in restarted.desk.queue("care")] == ["c3"]
    assert await restarted.clock_alert(warning("c1", event_id="again"), cause("again")) == []


async def test_a_resolution_frees_capacity_and_the_queued_complaint_is_announced(
    store: InMemoryCases, events: AnnouncedDecisions
) -> None:
    router = a_router(store, events, capacity=1)
    for n in (1, 2, 3):
        await router.classified(complaint(n), cause(f"classified-{n}"), NOW)
    assert isinstance(events.announced[-1][0], Queued)

    decisions = await router.activity(resolution("c1"), cause("resolved-c1"), NOW)

    assert [(d.complaint_id, d.handler_id) for d in assignments(decisions)] == [("c3", "ann")]
    saved = store.get("c3")
    assert saved is not None and saved.case.handler_id == "ann"


async def test_an_escalation_is_announced_once_however_often_the_warning_arrives(
    store: InMemoryCases, events: AnnouncedDecisions
) -> None:
    router = a_router(store, events)
    await router.classified(complaint(1), cause("classified-1"), NOW)

    for _ in range(3):
        await router.clock_alert(warning("c1"), cause("warn-c1"))

    escalations = {d.event_id for d, _ in events.announced if isinstance(d, Escalated)}
    assert len(escalations) == 1


async def test_messages_do_not_re_announce_anything(
    store: InMemoryCases, events: AnnouncedDecisions
) -> None:
    router = a_router(store, events)
    await router.classified(complaint(1), cause("classified-1"), NOW)
    announced = len(events.announced)

    await router.activity(message("c1", 1), cause("msg-c1-1"), NOW)

    assert len(events.announced) == announced


def test_a_saved_case_reads_back_identically() -> None:
    router = a_router(InMemoryCases(), AnnouncedDecisions())
    router.desk.classified(complaint(1, vulnerable=True, product="card"), "e1", NOW)
    case = router.desk.cases["c1"]
    [decision] = router.desk.clock_alert(warning("c1"))
    from services.router.domain.records import Announced

    stored = StoredCase(case, (Announced("warn-c1", decision),))

    assert StoredCase.from_bytes(stored.to_bytes()) == stored
