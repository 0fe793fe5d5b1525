"""The keeper's rules without a broker: replays repeat bytes, ticks touch only what is due."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from kintsugi.common.codec import decode, event_type
from services.sla.adapters.partitions import partition_of

from .keeper_support import (
    PARTITIONS,
    Now,
    classified,
    consumed,
    make_keeper,
    progress_update,
)

MONDAY_9 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # 09:00 in London


def _published(producer, kind: str | None = None) -> list[bytes]:  # type: ignore[no-untyped-def]
    values = [s.value for s in producer.sent if s.topic == "events"]
    return [v for v in values if kind is None or event_type(decode(v)) == kind]


async def test_a_redelivered_update_publishes_the_same_bytes_not_a_new_reset() -> None:
    now = Now(MONDAY_9 + timedelta(hours=3))
    update = progress_update("C-1", "notification-1", MONDAY_9 + timedelta(hours=2))

    once, _, once_producer = await make_keeper(now)
    await once.handle_batch(consumed(classified("C-1", MONDAY_9), update))

    twice, _, twice_producer = await make_keeper(now)
    await twice.handle_batch(consumed(classified("C-1", MONDAY_9), update))
    now.at += timedelta(minutes=5)  # redelivered later: same bytes regardless
    await twice.handle_batch(consumed(update))

    resets = _published(twice_producer, "clock_reset")
    assert [decode(r).clock_reset.clock.cycle for r in resets] == [1]
    assert _published(twice_producer) == _published(once_producer)


async def test_a_crash_before_the_table_write_replays_to_identical_events() -> None:
    now = Now(MONDAY_9 + timedelta(hours=3))
    update = progress_update("C-1", "notification-1", MONDAY_9 + timedelta(hours=2))
    keeper, table, producer = await make_keeper(now)
    await keeper.handle_batch(consumed(classified("C-1", MONDAY_9)))
    before = dict(table)

    await keeper.handle_batch(consumed(update))
    first = _published(producer)[1:]
    table.clear()  # the write never reached the changelog
    table.update(before)
    producer.sent.clear()
    await keeper.handle_batch(consumed(update))

    assert first and _published(producer) == first


async def test_a_tick_reads_only_due_complaints() -> None:
    now = Now(MONDAY_9)
    keeper, table, producer = await make_keeper(now)
    await keeper.handle_batch(
        consumed(*(classified(f"C-{n}", MONDAY_9 + timedelta(hours=n % 2)) for n in range(400)))
    )
    table.reads = 0
    producer.sent.clear()

    assert await keeper.tick() == 0
    assert table.reads == 0

    # The internal acknowledgement of the first 200 falls due before the other 200.
    due_first = [n for n in range(400) if n % 2 == 0]
    first_due = min(keeper._due[p].next_at() or 2**62 for p in range(PARTITIONS))
    now.at = datetime.fromtimestamp(first_due, UTC)
    looked_at = await keeper.tick()
    assert looked_at == len(due_first)
    assert table.reads == len(due_first)


async def test_deadlines_clustered_on_one_instant_all_fire_once_in_chunks() -> None:
    now = Now(MONDAY_9)
    keeper, _, producer = await make_keeper(now, tick_chunk=64)
    complaints = [f"C-{n}" for n in range(1_000)]
    await keeper.handle_batch(consumed(*(classified(c, MONDAY_9) for c in complaints)))
    producer.sent.clear()

    now.at = MONDAY_9 + timedelta(days=400)  # every clock of every complaint has ended
    assert await keeper.tick() == len(complaints)
    breached = {decode(v).complaint_id for v in _published(producer, "clock_breached")}
    assert breached == set(complaints)
    count = len(producer.sent)

    assert await keeper.tick() == 0
    assert len(producer.sent) == count


async def test_a_failed_tick_leaves_its_complaints_due() -> None:
    now = Now(MONDAY_9)
    keeper, _, producer = await make_keeper(now)
    await keeper.handle_batch(consumed(classified("C-1", MONDAY_9)))
    now.at = MONDAY_9 + timedelta(days=400)
    producer.fail_next = 1
    try:
        await keeper.tick()
    except ConnectionError:
        pass
    else:
        raise AssertionError("the broker failure should surface")
    producer.sent.clear()
    assert await keeper.tick() == 1
    assert _published(producer, "clock_breached")


async def test_revoked_partitions_are_not_ticked_and_come_back_from_the_table() -> None:
    now = Now(MONDAY_9)
    keeper, _, producer = await make_keeper(now)
    complaints = [f"C-{n}" for n in range(60)]
    await keeper.handle_batch(consumed(*(classified(c, MONDAY_9) for c in complaints)))
    kept = {c for c in complaints if partition_of(c.encode(), PARTITIONS) < 3}
    await keeper.assign({0, 1, 2})
    producer.sent.clear()
    now.at = MONDAY_9 + timedelta(days=400)

    assert await keeper.tick() == len(kept)
    assert {decode(v).complaint_id for v in _published(producer, "clock_breached")} == kept

    await keeper.assign(range(PARTITIONS))  # handed back: the index is rebuilt from the table
    assert await keeper.tick() == len(complaints) - len(kept)


async def test_indexing_a_new_partition_lets_heartbeats_run_meanwhile() -> None:
    now = Now(MONDAY_9)
    keeper, _, _ = await make_keeper(now)
    await keeper.handle_batch(consumed(*(classified(f"C-{n}", MONDAY_9) for n in range(2_000))))
    await keeper.assign(())
    beats = 0

    async def heartbeat() -> None:
        nonlocal beats
        while True:
            beats += 1
            await asyncio.sleep(0)

    beating = asyncio.create_task(heartbeat())
    await keeper.assign(range(PARTITIONS))
    beating.cancel()
    assert beats >= 3  # the pass over 2,000 keys gave way several times
    assert keeper.open_clocks == 2_000
