"""SLA risk: which clocks count as due soon or overdue, and under which regime."""

from __future__ import annotations

import datetime as dt

import pytest

from services.sla.domain import ClockState, ComplaintClocks, Milestone
from services.sla.domain.instants import to_epoch
from services.sla.domain.risk import OpenDeadlines, count_risk, open_deadlines

from .support import POLICIES, complaint, london

MONDAY_9 = london(2026, 6, 1, 9)
NOW = 1_780_000_000
HOUR = 3600


def _started(regime: str) -> ComplaintClocks:
    clocks, _ = ComplaintClocks.start(complaint(MONDAY_9, regime=regime), POLICIES)
    return clocks


def test_a_regulated_complaint_counts_every_running_clock_under_its_regime() -> None:
    clocks = _started("uk-fca-disp")

    deadlines = open_deadlines(clocks, POLICIES)

    assert deadlines.regime == "uk-fca-disp"  # internal clocks count under it too
    assert sorted(deadlines.due_at) == sorted(record.due_at for record in clocks.clocks)
    assert to_epoch(london(2026, 6, 1, 9, 15)) in deadlines.due_at  # internal acknowledgement


def test_a_complaint_with_only_internal_clocks_counts_under_none() -> None:
    assert open_deadlines(_started("none"), POLICIES).regime == "none"


def test_a_final_response_leaves_nothing_to_count() -> None:
    clocks = _started("uk-fca-disp")
    clocks.on_milestone(Milestone.FINAL_RESPONSE_SENT, MONDAY_9 + dt.timedelta(hours=1), POLICIES)

    assert open_deadlines(clocks, POLICIES) == OpenDeadlines("uk-fca-disp", ())


def test_paused_clocks_are_not_counted() -> None:
    clocks = _started("none")  # internal clocks; most pause while waiting on the customer
    clocks.on_milestone(Milestone.WAITING_ON_CUSTOMER, MONDAY_9 + dt.timedelta(minutes=5), POLICIES)
    paused = [r for r in clocks.clocks if r.state is ClockState.PAUSED]
    running = [r for r in clocks.clocks if r.state is ClockState.RUNNING]

    assert paused and running
    assert sorted(open_deadlines(clocks, POLICIES).due_at) == sorted(r.due_at for r in running)


@pytest.mark.parametrize(
    ("due_in", "due_soon", "overdue"),
    [
        (0, {"1h": 1, "4h": 1, "24h": 1}, 0),  # due this instant: not yet past due
        (30 * 60, {"1h": 1, "4h": 1, "24h": 1}, 0),
        (HOUR, {"1h": 0, "4h": 1, "24h": 1}, 0),  # the horizon's end is outside it
        (3 * HOUR, {"1h": 0, "4h": 1, "24h": 1}, 0),
        (23 * HOUR, {"1h": 0, "4h": 0, "24h": 1}, 0),
        (25 * HOUR, {"1h": 0, "4h": 0, "24h": 0}, 0),
        (-1, {"1h": 0, "4h": 0, "24h": 0}, 1),  # past due counts only as overdue
    ],
)
def test_a_deadline_falls_in_every_horizon_that_reaches_it(
    due_in: int, due_soon: dict[str, int], overdue: int
) -> None:
    counts = count_risk([OpenDeadlines("us-cfpb", (NOW + due_in,))], NOW)

    assert counts.due_soon == {("us-cfpb", h): n for h, n in due_soon.items()}
    assert counts.overdue == {"us-cfpb": overdue}


def test_counts_add_up_by_regime_and_skip_complaints_with_nothing_open() -> None:
    counts = count_risk(
        [
            OpenDeadlines("uk-fca-disp", (NOW + 60, NOW + 2 * HOUR, NOW - HOUR)),
            OpenDeadlines("uk-fca-disp", (NOW + 600,)),
            OpenDeadlines("none", (NOW + 30 * HOUR,)),
            OpenDeadlines("us-cfpb", ()),
        ],
        NOW,
    )

    assert counts.due_soon == {
        ("uk-fca-disp", "1h"): 2,
        ("uk-fca-disp", "4h"): 3,
        ("uk-fca-disp", "24h"): 3,
        ("none", "1h"): 0,
        ("none", "4h"): 0,
        ("none", "24h"): 0,
    }
    assert counts.overdue == {"uk-fca-disp": 1, "none": 0}


def test_horizons_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="shortest first"):
        count_risk([], NOW, (("4h", 4 * HOUR), ("1h", HOUR)))
