"""A replayed or redelivered milestone is the same cause: it changes nothing a second time."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.sla.domain import ClockReset, ComplaintClocks, Milestone, StateError
from services.sla.domain.complaint_clocks import MAX_APPLIED_CAUSES

from .support import POLICIES, complaint, london, of_type, start

RECEIVED = london(2026, 6, 1, 9, 0)  # a Monday


def test_a_replayed_update_does_not_reset_the_cadence_again() -> None:
    clocks, _ = start(complaint(RECEIVED))
    first = clocks.on_milestone(
        Milestone.CUSTOMER_UPDATED, london(2026, 6, 1, 11, 0), POLICIES, "update-1"
    )
    after_first = clocks.to_bytes()
    again = clocks.on_milestone(
        Milestone.CUSTOMER_UPDATED, london(2026, 6, 1, 11, 0), POLICIES, "update-1"
    )

    assert [(e.clock_id, e.cycle) for e in of_type(first, ClockReset)] == [
        ("int-progress-medium", 1)
    ]
    assert again == []
    assert clocks.to_bytes() == after_first  # still cycle 1, not 2


def test_a_new_update_still_resets_the_cadence() -> None:
    clocks, _ = start(complaint(RECEIVED))
    clocks.on_milestone(Milestone.CUSTOMER_UPDATED, london(2026, 6, 1, 11, 0), POLICIES, "u-1")
    second = clocks.on_milestone(
        Milestone.CUSTOMER_UPDATED, london(2026, 6, 1, 12, 0), POLICIES, "u-2"
    )
    assert [e.cycle for e in of_type(second, ClockReset)] == [2]


def test_an_old_pause_replayed_after_the_resume_does_not_pause_again() -> None:
    clocks, _ = start(complaint(RECEIVED))
    clocks.on_milestone(Milestone.WAITING_ON_CUSTOMER, london(2026, 6, 1, 10), POLICIES, "w-1")
    clocks.on_milestone(Milestone.CUSTOMER_RESPONDED, london(2026, 6, 1, 12), POLICIES, "r-1")
    before = clocks.to_bytes()
    assert (
        clocks.on_milestone(Milestone.WAITING_ON_CUSTOMER, london(2026, 6, 1, 10), POLICIES, "w-1")
        == []
    )
    assert clocks.to_bytes() == before


def test_the_applied_causes_survive_serialisation() -> None:
    clocks, _ = start(complaint(RECEIVED))
    clocks.on_milestone(Milestone.CUSTOMER_UPDATED, london(2026, 6, 1, 11), POLICIES, "u-1")
    restored = ComplaintClocks.from_bytes(clocks.to_bytes(), POLICIES)
    assert restored == clocks
    assert restored.has_applied("u-1")
    assert (
        restored.on_milestone(Milestone.CUSTOMER_UPDATED, london(2026, 6, 1, 11), POLICIES, "u-1")
        == []
    )


def test_only_the_most_recent_causes_are_kept() -> None:
    clocks, _ = start(complaint(RECEIVED))
    for n in range(MAX_APPLIED_CAUSES + 1):
        clocks.on_milestone(
            Milestone.CUSTOMER_UPDATED, RECEIVED + dt.timedelta(minutes=n), POLICIES, f"u-{n}"
        )
    assert not clocks.has_applied("u-0")
    assert clocks.has_applied(f"u-{MAX_APPLIED_CAUSES}")


MILESTONES = st.sampled_from(list(Milestone))
HISTORY = st.lists(
    st.tuples(MILESTONES, st.integers(min_value=0, max_value=40 * 24)), min_size=1, max_size=12
)


def _replay(
    history: list[tuple[Milestone, int]], redeliver: list[int]
) -> tuple[list[bytes], bytes]:
    """Apply `history` (hours after receipt), delivering the events at `redeliver` twice."""
    clocks, _ = start(complaint(RECEIVED))
    produced: list[bytes] = []
    for index, (milestone, hours) in enumerate(history):
        deliveries = 2 if index in redeliver else 1
        for _ in range(deliveries):
            events = clocks.on_milestone(
                milestone, RECEIVED + dt.timedelta(hours=hours), POLICIES, f"cause-{index}"
            )
            produced.extend(repr(e).encode() for e in events)
    return produced, clocks.to_bytes()


@settings(max_examples=80, deadline=None)
@given(history=HISTORY, redeliver=st.lists(st.integers(min_value=0, max_value=11)))
def test_redelivering_any_milestone_yields_byte_identical_events_and_state(
    history: list[tuple[Milestone, int]], redeliver: list[int]
) -> None:
    once = _replay(history, [])
    assert _replay(history, redeliver) == once


@settings(max_examples=50, deadline=None)
@given(history=HISTORY)
def test_replaying_the_whole_history_after_it_is_applied_changes_nothing(
    history: list[tuple[Milestone, int]],
) -> None:
    clocks, _ = start(complaint(RECEIVED))
    for index, (milestone, hours) in enumerate(history):
        clocks.on_milestone(
            milestone, RECEIVED + dt.timedelta(hours=hours), POLICIES, f"cause-{index}"
        )
    state = clocks.to_bytes()
    for index, (milestone, hours) in enumerate(history):
        assert (
            clocks.on_milestone(
                milestone, RECEIVED + dt.timedelta(hours=hours), POLICIES, f"cause-{index}"
            )
            == []
        )
    assert clocks.to_bytes() == state


@pytest.mark.parametrize("version", [1, 2])
def test_state_saved_by_an_earlier_format_keeps_its_bytes(version: int) -> None:
    clocks, _ = start(complaint(RECEIVED))
    clocks.on_milestone(Milestone.CUSTOMER_UPDATED, london(2026, 6, 1, 11), POLICIES, "u-1")
    body = json.loads(clocks.to_bytes())
    assert body[0] == 3 and body[-1] == ["medium", "email", "service"]  # written today
    old = [version, *body[1:5], *([body[5]] if version == 2 else [])]
    data = json.dumps(old, separators=(",", ":")).encode()

    assert ComplaintClocks.from_bytes(data, POLICIES).to_bytes() == data


def test_applied_causes_that_are_not_strings_are_refused() -> None:
    with pytest.raises(StateError, match="applied causes"):
        ComplaintClocks.from_bytes(b'[2,"C-1","GB-ENG",0,[],[1]]')
