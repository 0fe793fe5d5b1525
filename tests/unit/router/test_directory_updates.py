"""Directory updates: presence and capacity records parsed, or refused naming the field."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from kintsugi.common.ids import Cause
from kintsugi.common.ops_server import Health
from services.router.adapters.directory_updates import BadUpdate, FollowerHealth, parse_update
from services.router.domain.desk import Assigned
from services.router.service import Router
from tests.unit.router.desk_fixtures import NOW, complaint, team_of, worker
from tests.unit.router.fakes import AnnouncedDecisions, InMemoryCases


def test_a_presence_record_becomes_an_update_with_a_stable_id() -> None:
    update = parse_update(
        b"ann", b'{"presence": "away", "since": "2026-11-23T09:12:00Z", "capacity": 12}', 7
    )

    assert update is not None
    assert (update.handler_id, update.presence, update.capacity) == ("ann", "away", 12)
    assert update.since == datetime(2026, 11, 23, 9, 12, tzinfo=UTC)
    assert update.update_id == parse_update(b"ann", b'{"presence": "online"}', 7).update_id  # type: ignore[union-attr]


def test_a_tombstone_changes_nothing() -> None:
    assert parse_update(b"ann", None, 3) is None


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        (b"ann", b'{"presence": "lunch"}', "presence"),
        (b"ann", b'{"presence": "away", "capacity": 0}', "capacity"),
        (b"ann", b'{"presence": "away", "since": "2026-11-23T09:12:00"}', "since"),
        (b"ann", b'{"presence": "away", "mood": "fine"}', "mood"),
        (b"ann", b"not json", "<root>"),
        (None, b'{"presence": "away"}', "key is the handler id"),
    ],
)
def test_a_bad_record_is_refused_naming_the_field(
    key: bytes | None, value: bytes, named: str
) -> None:
    with pytest.raises(BadUpdate, match=named):
        parse_update(key, value, 1)


async def test_a_capacity_rise_from_workforce_management_drains_the_queue() -> None:
    events = AnnouncedDecisions()
    router = Router(team_of(worker("ann", capacity=1)), InMemoryCases(), events)
    await router.classified(complaint(1), Cause("e1", "e1"), NOW)
    await router.classified(complaint(2), Cause("e2", "e2"), NOW)
    update = parse_update(b"ann", b'{"presence": "online", "capacity": 2}', 4)
    assert update is not None

    decisions = await router.presence_changed(
        update.handler_id, update.presence, update.capacity, Cause(update.update_id, "x"), NOW
    )

    assert [(d.complaint_id, d.handler_id) for d in decisions if isinstance(d, Assigned)] == [
        ("c2", "ann")
    ]


async def test_a_failed_follower_fails_the_health_check_with_its_reason() -> None:
    health = Health()
    follower = FollowerHealth(health)

    async def broken() -> None:
        raise ConnectionError("broker unreachable")

    await follower.watch(broken())

    assert health.report()[FollowerHealth.CHECK] is False
    assert health.failure is not None
    assert "directory updates follower stopped" in health.failure
    assert "broker unreachable" in health.failure


async def test_a_running_follower_is_ready_and_a_stopped_one_fails_nothing() -> None:
    health = Health()
    follower = FollowerHealth(health)
    stop = asyncio.Event()
    started = asyncio.Event()

    async def following() -> None:
        started.set()
        await stop.wait()

    watching = asyncio.create_task(follower.watch(following()))
    await started.wait()
    assert health.report()[FollowerHealth.CHECK] is True

    stop.set()
    await watching
    assert health.failure is None
