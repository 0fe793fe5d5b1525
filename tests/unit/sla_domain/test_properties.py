"""Properties that must hold for any complaint, any receipt time and any history."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from services.sla.domain import (
    CHANNELS,
    SEVERITIES,
    ClockEvent,
    ClockStarted,
    ComplaintClocks,
    ComplaintFacts,
    Milestone,
)
from services.sla.domain.instants import from_epoch, to_epoch
from services.sla.domain.rules import Cutoff, DurationUnit

from .support import POLICIES, of_type

FIRST = to_epoch(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
LAST = to_epoch(dt.datetime(2028, 12, 31, tzinfo=dt.UTC))
DAY = 86_400

REGIMES_AND_JURISDICTIONS = [
    ("uk-fca-disp", "GB-ENG"),
    ("uk-fca-disp", "GB-SCT"),
    ("uk-fca-disp", "GB-NIR"),
    ("uk-psd2-emoney", "GB-ENG"),
    ("us-cfpb", "US"),
    ("au-asic-rg271", "AU-NSW"),
    ("au-asic-rg271", "AU-VIC"),
    ("au-asic-rg271", "AU-WA"),
    ("none", "GB-ENG"),
    ("none", "US"),
]
CATEGORIES = ["fees", "service", "hardship", "default_notice", "superannuation"]


def _offset_changes(zone_name: str) -> list[int]:
    """Instants (to the hour) at which the zone's UTC offset changes, 2026-2028."""
    zone = ZoneInfo(zone_name)
    changes = []
    previous = from_epoch(FIRST).astimezone(zone).utcoffset()
    for instant in range(FIRST, LAST, 3600):
        offset = from_epoch(instant).astimezone(zone).utcoffset()
        if offset != previous:
            changes.append(instant)
            previous = offset
    return changes


DST_CHANGES = sorted(
    {
        instant
        for zone in ("Europe/London", "America/New_York", "Australia/Sydney")
        for instant in _offset_changes(zone)
    }
)

# Any instant over three years, with extra weight on the hours around DST changes.
instants = st.one_of(
    st.integers(FIRST, LAST),
    st.builds(
        lambda change, shift: change + shift,
        st.sampled_from(DST_CHANGES),
        st.integers(-3 * 3600, 3 * 3600),
    ),
)


@st.composite
def complaint_facts(draw: st.DrawFn, received: int | None = None) -> ComplaintFacts:
    regime, jurisdiction = draw(st.sampled_from(REGIMES_AND_JURISDICTIONS))
    return ComplaintFacts(
        complaint_id=f"C-{draw(st.integers(1, 10**6))}",
        regime=regime,
        jurisdiction=jurisdiction,
        severity=draw(st.sampled_from(SEVERITIES)),
        channel=draw(st.sampled_from(CHANNELS)),
        category=draw(st.sampled_from(CATEGORIES)),
        received_at=from_epoch(draw(instants) if received is None else received),
    )


def with_receipt(facts: ComplaintFacts, instant: int) -> ComplaintFacts:
    return ComplaintFacts(
        facts.complaint_id,
        facts.regime,
        facts.jurisdiction,
        facts.severity,
        facts.channel,
        facts.category,
        from_epoch(instant),
    )


def dues(clocks: ComplaintClocks) -> dict[str, int]:
    return {record.clock_id: record.due_at for record in clocks.clocks}


operations = st.lists(
    st.tuples(
        st.sampled_from([*Milestone, "tick", "tick"]),
        st.integers(0, 4 * DAY),
    ),
    max_size=8,
)


def apply(
    clocks: ComplaintClocks, operation: Milestone | str, instant: dt.datetime
) -> list[ClockEvent]:
    if isinstance(operation, Milestone):
        return clocks.on_milestone(operation, instant, POLICIES)
    return clocks.tick(instant, POLICIES)


@settings(max_examples=200, deadline=None)
@given(
    facts=complaint_facts(),
    pauses=st.lists(
        st.tuples(st.integers(0, 6 * DAY), st.integers(0, 6 * DAY)), min_size=1, max_size=3
    ),
)
def test_a_pause_never_brings_a_deadline_forward(
    facts: ComplaintFacts, pauses: list[tuple[int, int]]
) -> None:
    clocks, _ = ComplaintClocks.start(facts, POLICIES)
    before = dues(clocks)
    instant = to_epoch(facts.received_at)

    for gap, length in pauses:
        instant += gap
        clocks.on_milestone(Milestone.WAITING_ON_CUSTOMER, from_epoch(instant), POLICIES)
        instant += length
        clocks.on_milestone(Milestone.CUSTOMER_RESPONDED, from_epoch(instant), POLICIES)

    after = dues(clocks)
    for clock_id, due in before.items():
        assert after[clock_id] >= due, clock_id
        if POLICIES.clock(clock_id).regulatory:
            assert after[clock_id] == due, clock_id


@settings(max_examples=200, deadline=None)
@given(facts=complaint_facts())
def test_a_business_day_deadline_never_lands_on_a_closed_day(facts: ComplaintFacts) -> None:
    _, events = ComplaintClocks.start(facts, POLICIES)
    calendar = POLICIES.calendar(facts.jurisdiction)

    for started in of_type(events, ClockStarted):
        parts = POLICIES.clock(started.clock_id).due.parts
        if len(parts) != 1 or parts[0].unit is not DurationUnit.BUSINESS_DAYS:
            continue
        due = to_epoch(started.due_at)
        day = calendar.local_date(due - 1)  # the day the deadline closes
        assert calendar.is_business_day(day), (started.clock_id, day)
        if parts[0].cutoff is Cutoff.CLOSE_OF_BUSINESS:
            assert due == calendar.close_of_business(day)


@settings(max_examples=200, deadline=None)
@given(facts=complaint_facts(), first=instants, second=instants)
def test_due_times_are_monotonic_in_receipt_time(
    facts: ComplaintFacts, first: int, second: int
) -> None:
    earlier, later = sorted((first, second))

    early, _ = ComplaintClocks.start(with_receipt(facts, earlier), POLICIES)
    late, _ = ComplaintClocks.start(with_receipt(facts, later), POLICIES)

    late_dues = dues(late)
    for clock_id, due in dues(early).items():
        assert due <= late_dues[clock_id], clock_id


@settings(max_examples=150, deadline=None)
@given(facts=complaint_facts(), history=operations)
def test_serialise_then_restore_behaves_identically(
    facts: ComplaintFacts, history: list[tuple[Milestone | str, int]]
) -> None:
    clocks, _ = ComplaintClocks.start(facts, POLICIES)
    instant = facts.received_at

    for operation, delay in history:
        instant += dt.timedelta(seconds=delay)
        restored = ComplaintClocks.from_bytes(clocks.to_bytes(), POLICIES)
        assert restored == clocks

        assert apply(restored, operation, instant) == apply(clocks, operation, instant)
        assert restored.to_bytes() == clocks.to_bytes()
        assert restored.next_wakeup() == clocks.next_wakeup()
        assert restored.is_finished() == clocks.is_finished()

    final = ComplaintClocks.from_bytes(clocks.to_bytes())
    assert [e.to_dict() for e in final.explain(instant, POLICIES)] == [
        e.to_dict() for e in clocks.explain(instant, POLICIES)
    ]


@settings(max_examples=150, deadline=None)
@given(facts=complaint_facts(), history=operations)
def test_replaying_a_history_yields_identical_events(
    facts: ComplaintFacts, history: list[tuple[Milestone | str, int]]
) -> None:
    def replay() -> list[ClockEvent]:
        clocks, events = ComplaintClocks.start(facts, POLICIES)
        instant = facts.received_at
        for operation, delay in history:
            instant += dt.timedelta(seconds=delay)
            events += apply(clocks, operation, instant)
        return events

    first = replay()

    assert replay() == first
    assert len({event.event_id for event in first}) == len(first)


@settings(max_examples=150, deadline=None)
@given(
    facts=complaint_facts(),
    ticks=st.lists(st.integers(0, 70 * DAY), max_size=12),
    horizon=st.integers(0, 70 * DAY),
)
def test_how_often_tick_runs_does_not_change_what_it_emits(
    facts: ComplaintFacts, ticks: list[int], horizon: int
) -> None:
    received = facts.received_at
    frequent, _ = ComplaintClocks.start(facts, POLICIES)
    once, _ = ComplaintClocks.start(facts, POLICIES)

    emitted: list[ClockEvent] = []
    for offset in [*sorted(tick for tick in ticks if tick <= horizon), horizon]:
        emitted += frequent.tick(received + dt.timedelta(seconds=offset), POLICIES)
        # Calling again with the same instant never re-emits.
        assert frequent.tick(received + dt.timedelta(seconds=offset), POLICIES) == []

    assert emitted == once.tick(received + dt.timedelta(seconds=horizon), POLICIES)
    assert frequent == once


@settings(max_examples=150, deadline=None)
@given(facts=complaint_facts(), history=operations)
def test_next_wakeup_is_exactly_when_tick_next_has_something(
    facts: ComplaintFacts, history: list[tuple[Milestone | str, int]]
) -> None:
    clocks, _ = ComplaintClocks.start(facts, POLICIES)
    instant = facts.received_at
    for operation, delay in history:
        instant += dt.timedelta(seconds=delay)
        apply(clocks, operation, instant)

    wakeup = clocks.next_wakeup()

    if wakeup is None:
        assert clocks.tick(instant + dt.timedelta(days=3650), POLICIES) == []
        return
    assert clocks.tick(wakeup - dt.timedelta(seconds=1), POLICIES) == []
    assert clocks.tick(wakeup, POLICIES) != []
