"""One complaint's unreadable table value (damaged, or a newer version's after a rollback)
harms that complaint alone: the worker starts, ticks, migrates and explains the others,
and the complaint's own events are dead-lettered at once, saying why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY

from kintsugi.common.codec import DeadLetter, decode, event_type
from kintsugi.common.kafka import DEAD_LETTER_KIND_HEADER
from kintsugi.common.stored_state import UnreadableState
from services.sla.adapters.explain_api import ExplainApi
from services.sla.adapters.keeper import ClockKeeper

from .keeper_support import (
    CountingTable,
    Now,
    RecordingProducer,
    classified,
    consumed,
    make_keeper,
    progress_update,
)
from .test_migration import COMPLAINTS, keeper_with_version_1_clocks

MONDAY_9 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
DAMAGED = b"C-damaged"
OTHERS = ["C-1", "C-2"]

# A value without a summary line's end; one whose summary is fine but whose state is a
# newer format; one whose state holds an instant no calendar reaches.
UNREADABLE_VALUES = {
    "no summary": b"\xff\xfe not a value this build wrote",
    "newer state": b'1780300800;none;1780300800\n[9,"C-damaged","GB-ENG",1780300000,[]]',
    "out of range": b'1780300800;none;\n[1,"C-damaged","GB-ENG",1780300000,'
    b'[["int-ack",0,0,0,99999999999999,900,450]]]',
}


def unreadable_count() -> float:
    return (
        REGISTRY.get_sample_value("kintsugi_state_unreadable_total", {"store": "sla_clocks"}) or 0
    )


async def restarted_over_damaged_table(
    value: bytes, now: Now
) -> tuple[ClockKeeper, CountingTable, RecordingProducer]:
    keeper, table, _ = await make_keeper(now)
    await keeper.handle_batch(consumed(*(classified(c, MONDAY_9) for c in OTHERS)))
    table[DAMAGED] = value
    restarted, restarted_table, producer = await make_keeper(now, table_from=table)
    return restarted, restarted_table, producer


def published(producer: RecordingProducer, kind: str) -> set[str]:
    events = [decode(s.value) for s in producer.sent if s.topic == "events"]
    return {e.complaint_id for e in events if event_type(e) == kind}


def dead_letters(producer: RecordingProducer) -> list[tuple[str, DeadLetter]]:
    return [
        (dict(s.headers)[DEAD_LETTER_KIND_HEADER].decode(), DeadLetter.FromString(s.value))
        for s in producer.sent
        if s.topic == "dead"
    ]


@pytest.mark.parametrize("value", UNREADABLE_VALUES.values(), ids=UNREADABLE_VALUES.keys())
async def test_the_worker_starts_ticks_and_explains_the_others(value: bytes) -> None:
    now = Now(MONDAY_9)
    before = unreadable_count()
    keeper, _, producer = await restarted_over_damaged_table(value, now)

    assert keeper.open_clocks >= len(OTHERS)
    assert all(keeper.explain(c, MONDAY_9) for c in OTHERS)
    with pytest.raises(UnreadableState, match="complaint C-damaged"):
        keeper.explain(DAMAGED.decode(), MONDAY_9)

    now.at = MONDAY_9 + timedelta(days=400)
    await keeper.tick()
    assert published(producer, "clock_breached") == set(OTHERS)
    assert await keeper.tick() == 0  # the unreadable one left the index: not tried again
    assert unreadable_count() > before


@pytest.mark.parametrize("value", UNREADABLE_VALUES.values(), ids=UNREADABLE_VALUES.keys())
async def test_its_event_is_dead_lettered_at_once_and_the_others_are_handled(
    value: bytes,
) -> None:
    keeper, _, producer = await restarted_over_damaged_table(value, Now(MONDAY_9))
    at = MONDAY_9 + timedelta(hours=2)

    await keeper.handle_batch(
        consumed(progress_update(DAMAGED.decode(), "n-1", at), progress_update("C-1", "n-2", at))
    )

    [(kind, letter)] = dead_letters(producer)
    assert kind == "permanent" and letter.attempts == 1
    assert "stored sla_clocks state of complaint C-damaged is unreadable" in letter.reason
    assert published(producer, "clock_reset") == {"C-1"}


async def test_a_migration_moves_the_others_and_skips_the_unreadable_one(
    tmp_path: Path,
) -> None:
    keeper, table, _ = await keeper_with_version_1_clocks(tmp_path)
    table[DAMAGED] = UNREADABLE_VALUES["newer state"]

    report = await keeper.migrate("au-asic-rg271", 2, dry_run=False)

    assert report.complaints == len(COMPLAINTS)
    assert table[DAMAGED] == UNREADABLE_VALUES["newer state"]  # left for an operator


async def test_the_explain_api_names_the_unreadable_complaint_and_still_answers_others() -> None:
    keeper, _, _ = await restarted_over_damaged_table(
        UNREADABLE_VALUES["no summary"], Now(MONDAY_9)
    )
    app = web.Application()
    app.router.add_get(
        "/clocks/{complaint_id}", ExplainApi(keeper, lambda: MONDAY_9, "sla-0").handle
    )

    async with TestClient(TestServer(app)) as client:
        damaged = await client.get("/clocks/C-damaged")
        other = await client.get("/clocks/C-1")

        assert damaged.status == 500
        assert "complaint C-damaged is unreadable" in (await damaged.json())["error"]
        assert other.status == 200 and (await other.json())["clocks"]


async def test_a_state_naming_another_complaint_publishes_nothing_for_it() -> None:
    keeper, table, producer = await make_keeper(Now(MONDAY_9))
    await keeper.handle_batch(consumed(classified("C-1", MONDAY_9)))
    table[DAMAGED] = table[b"C-1"]  # e.g. a damaged key, or a copy in the wrong place
    producer.sent.clear()

    at = MONDAY_9 + timedelta(hours=2)
    await keeper.handle_batch(consumed(progress_update(DAMAGED.decode(), "n-1", at)))

    [(kind, letter)] = dead_letters(producer)
    assert kind == "permanent" and "complaint C-damaged is unreadable" in letter.reason
    assert "names another complaint" in letter.reason
    assert not published(producer, "clock_reset")
