"""Compact state: to_bytes / from_bytes restore exactly."""

from __future__ import annotations

import json

import pytest

from services.sla.domain import ComplaintClocks, Milestone, StateError

from .support import POLICIES, complaint, london, start


def busy_clocks() -> ComplaintClocks:
    clocks, _ = start(complaint(london(2026, 6, 5, 10, 0), complaint_id="CMP-2026-000123"))
    clocks.on_milestone(Milestone.ACKNOWLEDGED, london(2026, 6, 5, 10, 1), POLICIES)
    clocks.tick(london(2026, 6, 5, 14, 0), POLICIES)
    clocks.on_milestone(Milestone.WAITING_ON_CUSTOMER, london(2026, 6, 5, 15, 0), POLICIES)
    return clocks


def test_round_trip_restores_an_equal_aggregate() -> None:
    clocks = busy_clocks()

    restored = ComplaintClocks.from_bytes(clocks.to_bytes(), POLICIES)

    assert restored == clocks
    assert restored.to_bytes() == clocks.to_bytes()
    assert restored.next_wakeup() == clocks.next_wakeup()
    assert restored.received_at == london(2026, 6, 5, 10, 0)


def test_restored_state_behaves_identically() -> None:
    clocks = busy_clocks()
    restored = ComplaintClocks.from_bytes(clocks.to_bytes())
    later = london(2026, 6, 20, 0, 0)

    for aggregate in (clocks, restored):
        aggregate.on_milestone(Milestone.CUSTOMER_RESPONDED, london(2026, 6, 8, 11, 0), POLICIES)

    assert restored.tick(later, POLICIES) == clocks.tick(later, POLICIES)
    assert [e.to_dict() for e in restored.explain(later, POLICIES)] == [
        e.to_dict() for e in clocks.explain(later, POLICIES)
    ]


def test_state_is_compact_and_holds_no_policy_text() -> None:
    clocks = busy_clocks()

    data = clocks.to_bytes()

    assert len(data) < 60 * len(clocks.clocks) + 100
    assert b"Europe/London" not in data and b"DISP" not in data
    assert json.loads(data)[0] == 3  # format version first


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"{}",
        b'[2,"C-1","GB-ENG",0,[]]',
        b'[1,"C-1","GB-ENG","soon",[]]',
        b'[1,"C-1","GB-ENG",0,[["fca-ack",9,0,0,1,1,null]]]',
        b'[1,"C-1","GB-ENG",0,[["fca-ack",0,0]]]',
        b'[1,"C-1","GB-ENG",0,[["fca-ack",0,0,0,1,1,"x"]]]',
        b'[1,"C-1","GB-ENG",0,[["fca-ack",0,true,0,1,1,null]]]',
    ],
)
def test_malformed_state_is_refused(data: bytes) -> None:
    with pytest.raises(StateError):
        ComplaintClocks.from_bytes(data)


def test_state_naming_a_clock_no_policy_defines_is_refused_against_policies() -> None:
    data = b'[1,"C-1","GB-ENG",0,[["retired-clock",0,0,0,60,60,30]]]'

    restored = ComplaintClocks.from_bytes(data)  # shape is fine without policies
    with pytest.raises(StateError, match="retired-clock"):
        ComplaintClocks.from_bytes(data, POLICIES)
    with pytest.raises(StateError, match="retired-clock"):
        restored.tick(london(2030, 1, 1), POLICIES)


def test_state_naming_an_unknown_calendar_is_refused() -> None:
    data = b'[1,"C-1","XX-NOPE",0,[["fca-ack",0,0,0,60,60,30]]]'

    with pytest.raises(StateError, match="XX-NOPE"):
        ComplaintClocks.from_bytes(data, POLICIES)
