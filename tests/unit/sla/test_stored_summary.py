"""A restart rebuilds the due index and risk gauges from each value's summary line, without
decoding a single state; values written before summaries still count and gain one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kintsugi.common.codec import decode, event_type
from services.sla.adapters.keeper import ClockKeeper
from services.sla.adapters.stored import Summary, pack, state_of, summary_of
from services.sla.domain.risk import OpenDeadlines
from services.sla.service import SlaService

from .keeper_support import (
    PARTITIONS,
    POLICIES,
    CountingTable,
    Now,
    RecordingProducer,
    classified,
    consumed,
    make_keeper,
)

MONDAY_9 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
COMPLAINTS = [f"C-{n}" for n in range(40)]


class NoDecoding(SlaService):
    """A service that fails the test if anything decodes a state for its wake-up."""

    def watch_points(self, state: bytes) -> tuple[datetime | None, OpenDeadlines]:
        raise AssertionError("the index rebuild decoded a state")


def restarted(
    table: CountingTable, service: SlaService, now: Now, producer: RecordingProducer | None = None
) -> ClockKeeper:
    producer = producer or RecordingProducer()
    return ClockKeeper(
        service,
        table,
        lambda: producer,  # type: ignore[arg-type,return-value]
        "events",
        lambda: None,  # type: ignore[arg-type,return-value]
        now,
        partitions=PARTITIONS,
    )


@pytest.mark.parametrize(
    ("wakeup", "deadlines"),
    [
        (1_780_650_000, OpenDeadlines("uk-fca-disp", (1_780_700_000, 1_785_000_000))),
        (None, OpenDeadlines("none", ())),
        (5, OpenDeadlines("us-cfpb", (7,))),
    ],
)
def test_a_summary_reads_back_exactly_and_leaves_the_state_intact(
    wakeup: int | None, deadlines: OpenDeadlines
) -> None:
    state = b'[3,"C-1","GB-ENG",0,[],[],["medium","email","service"]]'

    value = pack(state, wakeup, deadlines)

    assert summary_of(value) == Summary(wakeup, deadlines)
    assert state_of(value) == state


async def test_a_restart_rebuilds_index_and_gauges_without_decoding_states() -> None:
    now = Now(MONDAY_9)
    keeper, table, _ = await make_keeper(now)
    await keeper.handle_batch(
        consumed(*(classified(c, MONDAY_9, regime="uk-fca-disp") for c in COMPLAINTS))
    )
    now.at = MONDAY_9 + timedelta(hours=2)

    again = restarted(table, NoDecoding(POLICIES), now)
    await again.assign(range(PARTITIONS))

    assert again.open_clocks == keeper.open_clocks == len(COMPLAINTS)
    assert again.risk_samples() == keeper.risk_samples()


async def test_values_written_before_summaries_are_decoded_then_rewritten_with_one() -> None:
    now = Now(MONDAY_9)
    keeper, table, _ = await make_keeper(now)
    await keeper.handle_batch(consumed(*(classified(c, MONDAY_9) for c in COMPLAINTS)))
    for key, value in list(table.items()):
        table[key] = state_of(value)  # as an older version stored them
    assert all(summary_of(v) is None for v in table.values())

    producer = RecordingProducer()
    again = restarted(table, SlaService(POLICIES), now, producer)
    await again.assign(range(PARTITIONS))
    assert again.open_clocks == len(COMPLAINTS)

    now.at = MONDAY_9 + timedelta(days=400)
    await again.tick()  # every clock falls due: every complaint is written again
    assert all(summary_of(v) is not None for v in table.values())
    breached = {decode(s.value).complaint_id for s in producer.sent}
    assert breached == set(COMPLAINTS)
    assert {event_type(decode(s.value)) for s in producer.sent} >= {"clock_breached"}
