"""Explanations: what a clock reads at an instant, and the calendar facts behind it."""

from __future__ import annotations

import datetime as dt
import json

from services.sla.domain import ClockExplanation, ComplaintClocks, Milestone, SkippedDay

from .support import POLICIES, complaint, london, start


def explain(clocks: ComplaintClocks, now: dt.datetime, clock_id: str) -> ClockExplanation:
    return next(e for e in clocks.explain(now, POLICIES) if e.clock_id == clock_id)


def test_skipped_holidays_are_named_england_vs_scotland() -> None:
    received = london(2026, 4, 2, 10, 0)  # Thu before Easter
    england, _ = start(complaint(received))
    scotland, _ = start(complaint(received, jurisdiction="GB-SCT"))

    english = explain(england, received, "fca-src-window")
    scottish = explain(scotland, received, "fca-src-window")

    assert english.skipped_days == (
        SkippedDay(dt.date(2026, 4, 3), "Good Friday", "public_holiday"),
        SkippedDay(dt.date(2026, 4, 6), "Easter Monday", "public_holiday"),
    )
    assert scottish.skipped_days == (
        SkippedDay(dt.date(2026, 4, 3), "Good Friday", "public_holiday"),
    )
    assert english.rule == "close of business on the 3rd business day after the start day"
    assert english.basis.startswith("DISP 1.5.1R")


def test_friday_evening_complaint_shows_time_outside_working_hours() -> None:
    clocks, _ = start(complaint(london(2026, 12, 18, 16, 58)))

    reading = explain(clocks, london(2026, 12, 21, 10, 0), "int-first-medium")

    # Fri 16:58 -> Mon 10:00 = 2 days 17h02m = 234,120 s; working: 2 min + 1 h = 3,720 s.
    assert reading.elapsed_seconds == 234_120
    assert reading.elapsed_business_seconds == 3_720
    assert reading.outside_working_seconds == 230_400
    assert reading.used_seconds == 3_720
    assert reading.allowed_seconds == 8 * 3600
    assert reading.remaining_seconds == 8 * 3600 - 3_720
    assert reading.percent_used == 12.9
    assert reading.state == "running"
    # 50% of 8 working hours = 4h: Fri 2 min + Mon 09:00 + 3h58 = 12:58.
    assert (reading.next_threshold_percent, reading.next_threshold_at) == (
        50,
        london(2026, 12, 21, 12, 58),
    )
    assert reading.next_event == "warning"


def test_a_calendar_day_deadline_on_a_holiday_is_called_out() -> None:
    clocks, _ = start(complaint(london(2026, 11, 6, 10, 0)))  # due Fri 1 Jan 2027 10:00

    reading = explain(clocks, london(2026, 11, 6, 10, 0), "fca-final-8wk")

    assert reading.due_at == london(2027, 1, 1, 10, 0)
    assert reading.skipped_days == ()  # calendar days: holidays do not extend it
    assert any("New Year's Day" in note for note in reading.notes)
    assert "regulatory clock: it never pauses" in reading.notes
    assert reading.measure == "elapsed"


def test_a_complaint_received_on_a_holiday_explains_when_working_time_starts() -> None:
    clocks, _ = start(complaint(london(2026, 12, 25, 11, 0)))

    reading = explain(clocks, london(2026, 12, 25, 12, 0), "int-first-medium")

    assert any("2026-12-29T09:00:00+00:00" in note for note in reading.notes)
    assert [day.name for day in reading.skipped_days] == ["Christmas Day", "Boxing Day (observed)"]


def test_a_paused_clock_reports_its_pause() -> None:
    clocks, _ = start(complaint(london(2026, 6, 5, 10, 0)))
    clocks.on_milestone(Milestone.WAITING_ON_CUSTOMER, london(2026, 6, 5, 15, 0), POLICIES)

    reading = explain(clocks, london(2026, 6, 6, 12, 0), "int-first-medium")

    assert reading.state == "paused"
    assert reading.paused_since == london(2026, 6, 5, 15, 0)
    assert reading.paused_seconds == 21 * 3600  # Fri 15:00 -> Sat 12:00
    assert reading.used_seconds == 5 * 3600  # 10:00 -> 15:00
    assert reading.next_event is None  # nothing fires while paused


def test_explain_reflects_transitions_due_by_then_without_changing_the_clocks() -> None:
    clocks, _ = start(complaint(london(2026, 6, 1, 9, 0)))
    before = clocks.to_bytes()

    reading = explain(clocks, london(2026, 6, 2, 12, 0), "int-first-medium")

    assert reading.state == "breached"
    assert reading.ended_at == london(2026, 6, 1, 17, 0)
    assert clocks.to_bytes() == before


def test_to_dict_is_json_ready_with_local_iso_instants() -> None:
    clocks, _ = start(complaint(london(2026, 6, 1, 9, 0)))

    payload = explain(clocks, london(2026, 6, 1, 12, 0), "fca-final-8wk").to_dict()

    assert json.loads(json.dumps(payload)) == payload
    assert payload["due_at"] == "2026-07-27T09:00:00+01:00"
    assert payload["started_at"] == "2026-06-01T09:00:00+01:00"
    assert payload["clock_kind"] == "final_response"
    assert payload["state"] == "running"
    assert payload["time_zone"] == "Europe/London"
    assert payload["elapsed_seconds"] == 3 * 3600
    assert payload["customer_update_at"] == "2026-07-20T09:00:00+01:00"


def test_every_clock_is_explained() -> None:
    clocks, _ = start(complaint(london(2026, 6, 1, 9, 0)))

    readings = clocks.explain(london(2026, 6, 1, 9, 0), POLICIES)

    assert [r.clock_id for r in readings] == [record.clock_id for record in clocks.clocks]
