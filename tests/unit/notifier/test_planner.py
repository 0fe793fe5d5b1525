"""What each event asks the customer to be told, per regime: one message per cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.domain.planner import (
    Assigned,
    ClockInfo,
    DeadlineWarning,
    PlanRules,
    Resolved,
    UpdateDue,
    plan,
)
from tests.unit.notifier.fakes import a_case

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
DUE = NOW + timedelta(days=3)


def clock(clock_id: str, kind: str, regulatory: bool = True, cycle: int = 0) -> ClockInfo:
    return ClockInfo(clock_id, kind, cycle, regulatory)


@pytest.mark.parametrize(
    ("regime", "clock_info", "purpose"),
    [
        # FCA: the 8-week response may be a holding response (DISP 1.6.2R(2)).
        ("uk-fca-disp", clock("fca-final-8wk", "final_response"), "holding_response"),
        # PSD2: the 15-business-day deadline allows a holding reply; after it, a delay notice.
        ("uk-psd2-emoney", clock("psd2-15bd", "holding_response"), "holding_response"),
        ("uk-psd2-emoney", clock("psd2-35bd", "final_response"), "delay_notice"),
        # CFPB: "in progress" by day 15; the 60-day deadline gets a delay notice.
        ("us-cfpb", clock("cfpb-15d", "holding_response"), "holding_response"),
        ("us-cfpb", clock("cfpb-60d", "final_response"), "delay_notice"),
        # ASIC: an IDR delay notification (with AFCA), never a holding response.
        ("au-asic-rg271", clock("asic-final-30d", "final_response"), "delay_notice"),
    ],
)
def test_a_late_warning_on_a_customer_facing_clock_plans_the_regimes_notice(
    regime: str, clock_info: ClockInfo, purpose: str
) -> None:
    [planned] = plan(a_case(regime=regime), DeadlineWarning(clock_info, 90, DUE))

    assert planned.purpose == purpose
    assert planned.facts["deadline"] == DUE.isoformat()


@pytest.mark.parametrize(
    ("clock_info", "threshold"),
    [
        (clock("fca-final-8wk", "final_response"), 50),  # too early to excuse a delay
        (clock("fca-ack", "acknowledgement"), 90),  # not a deadline the customer was given
        (clock("int-resolution-high", "resolution", regulatory=False), 90),  # internal
        (clock("int-first-high", "first_response", regulatory=False), 90),
    ],
)
def test_other_warnings_plan_nothing(clock_info: ClockInfo, threshold: int) -> None:
    assert plan(a_case(), DeadlineWarning(clock_info, threshold, DUE)) == []


def test_the_threshold_for_a_delay_notice_is_a_rule_not_a_constant() -> None:
    warning = DeadlineWarning(clock("fca-final-8wk", "final_response"), 50, DUE)

    assert plan(a_case(), warning, PlanRules(delay_notice_from_percent=50)) != []
    with pytest.raises(ValueError, match="delay_notice_from_percent"):
        PlanRules(delay_notice_from_percent=0)


def test_the_update_lead_and_every_warning_of_one_clock_cycle_share_one_notification() -> None:
    final = clock("fca-final-8wk", "final_response")
    ids = {
        planned.notification_id
        for trigger in (
            UpdateDue(final, DUE, NOW),
            DeadlineWarning(final, 75, DUE),
            DeadlineWarning(final, 90, DUE),
        )
        for planned in plan(a_case(), trigger)
    }
    assert len(ids) == 1


def test_a_new_clock_cycle_is_a_new_notification() -> None:
    first = plan(a_case(), UpdateDue(clock("p", "progress_update", False, 0), DUE, NOW))
    second = plan(a_case(), UpdateDue(clock("p", "progress_update", False, 1), DUE, NOW))

    assert first[0].purpose == second[0].purpose == "progress_update"
    assert first[0].notification_id != second[0].notification_id
    assert first[0].facts["next_update_by"] == DUE.isoformat()


def test_ids_differ_between_complaints_and_are_stable_across_calls() -> None:
    trigger = UpdateDue(clock("p", "progress_update", False), DUE, NOW)
    one = plan(a_case(), trigger)[0].notification_id

    assert plan(a_case(), trigger)[0].notification_id == one
    assert plan(a_case(complaint_id="other"), trigger)[0].notification_id != one


def test_one_acknowledgement_per_complaint_whoever_is_assigned() -> None:
    [first] = plan(a_case(), Assigned("Mei Chen", "Fraud"))
    [again] = plan(a_case(), Assigned("Tom Reyes", "Cards"))

    assert first.notification_id == again.notification_id
    assert first.purpose == "acknowledgement"


def test_a_public_complaint_gets_a_public_reply_first_then_the_private_acknowledgement() -> None:
    planned = plan(a_case(channel="social_public"), Assigned("Mei", "T"))

    assert [(p.purpose, p.public) for p in planned] == [
        ("public_acknowledgement", True),
        ("acknowledgement", False),
    ]


def test_each_resolution_is_its_own_final_response_and_a_resolved_case_gets_no_more_notices() -> (
    None
):
    [final] = plan(a_case(), Resolved("activity-1", NOW))
    [after_reopen] = plan(a_case(), Resolved("activity-7", NOW))

    assert final.purpose == "final_response"
    assert final.notification_id != after_reopen.notification_id
    resolved = a_case(resolved=True)
    assert plan(resolved, DeadlineWarning(clock("f", "final_response"), 90, DUE)) == []
    assert plan(resolved, UpdateDue(clock("p", "progress_update", False), DUE, NOW)) == []


def test_a_naive_instant_is_refused_naming_the_rule() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan(a_case(), Resolved("a", datetime(2026, 3, 2, 9)))
