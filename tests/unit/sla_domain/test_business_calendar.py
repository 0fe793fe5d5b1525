"""Business calendar arithmetic: holidays, working slots, closures and DST."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from services.sla.domain import ClockStarted, ComplaintClocks, ComplaintFactsError, PolicySet
from services.sla.domain.instants import from_epoch, to_epoch

from .support import LONDON, NEW_YORK, POLICIES, complaint, due_times, london, of_type

ENGLAND = POLICIES.calendar("GB-ENG")
SCOTLAND = POLICIES.calendar("GB-SCT")


def london_epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return to_epoch(london(year, month, day, hour, minute))


def test_public_holidays_differ_between_uk_nations() -> None:
    easter_monday = dt.date(2026, 4, 6)
    st_patricks_day = dt.date(2026, 3, 17)
    st_andrews_day = dt.date(2026, 11, 30)

    assert ENGLAND.public_holiday(easter_monday) == "Easter Monday"
    assert SCOTLAND.public_holiday(easter_monday) is None
    assert POLICIES.calendar("GB-NIR").public_holiday(st_patricks_day) == "Saint Patrick's Day"
    assert ENGLAND.is_business_day(st_patricks_day)
    assert SCOTLAND.public_holiday(st_andrews_day) == "Saint Andrew's Day"
    assert ENGLAND.is_business_day(st_andrews_day)


def test_weekends_are_not_business_days_but_are_not_closures_either() -> None:
    saturday = dt.date(2026, 6, 6)

    assert not ENGLAND.is_business_day(saturday)
    assert ENGLAND.closed_day(saturday) is None
    assert ENGLAND.working_intervals(saturday) == ()


def test_observed_holiday_closes_the_monday() -> None:
    closed = ENGLAND.closed_day(dt.date(2026, 12, 28))

    assert closed is not None
    assert (closed.name, closed.reason) == ("Boxing Day (observed)", "public_holiday")


def test_nth_business_day_never_counts_the_start_day() -> None:
    # From Monday 09:00 or Monday 23:59 alike, the first business day after is Tuesday.
    assert ENGLAND.nth_business_day_after(dt.date(2026, 6, 1), 1) == dt.date(2026, 6, 2)
    # From Saturday the first is Monday.
    assert ENGLAND.nth_business_day_after(dt.date(2026, 6, 6), 1) == dt.date(2026, 6, 8)


def test_business_seconds_between_skip_nights_and_weekends() -> None:
    # Fri 16:00-17:00 and Mon 09:00-10:00.
    friday_4pm, monday_10am = london_epoch(2026, 6, 5, 16, 0), london_epoch(2026, 6, 8, 10, 0)

    assert ENGLAND.business_seconds_between(friday_4pm, monday_10am) == 2 * 3600
    assert ENGLAND.business_seconds_between(monday_10am, friday_4pm) == 0


def test_adding_business_time_that_ends_with_the_slot_lands_on_the_slot_end() -> None:
    monday_9am = london_epoch(2026, 6, 8, 9, 0)

    assert ENGLAND.add_business_seconds(monday_9am, 8 * 3600) == london_epoch(2026, 6, 8, 17, 0)


def test_adding_no_business_time_does_not_move_an_instant_outside_working_hours() -> None:
    saturday_noon = london_epoch(2026, 6, 6, 12, 0)

    assert ENGLAND.add_business_seconds(saturday_noon, 0) == saturday_noon


def test_adding_business_time_from_outside_hours_starts_at_the_next_opening() -> None:
    # Sat 12:00 + 1h: nothing until Mon 09:00, so Mon 10:00.
    assert ENGLAND.add_business_seconds(london_epoch(2026, 6, 6, 12, 0), 3600) == london_epoch(
        2026, 6, 8, 10, 0
    )


def test_subtracting_business_time_walks_back_over_the_weekend() -> None:
    # Mon 10:00 - 2h: Mon 09:00-10:00 (1h) and Fri 16:00-17:00 (1h).
    assert ENGLAND.subtract_business_seconds(london_epoch(2026, 6, 8, 10, 0), 7200) == london_epoch(
        2026, 6, 5, 16, 0
    )


def test_a_wall_time_that_occurs_twice_means_the_first_occurrence() -> None:
    # 25 Oct 2026: 01:00-02:00 happens in BST and again in GMT. 01:30 BST = 00:30 UTC.
    instant = ENGLAND.resolve_wall_time(dt.datetime(2026, 10, 25, 1, 30))

    assert from_epoch(instant) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)


def test_a_wall_time_that_never_occurs_means_the_moment_the_clocks_jump() -> None:
    # 28 Mar 2027: 01:00 GMT jumps to 02:00 BST, so 01:30 never shows; the jump is 01:00 UTC.
    instant = ENGLAND.resolve_wall_time(dt.datetime(2027, 3, 28, 1, 30))

    assert from_epoch(instant) == dt.datetime(2027, 3, 28, 1, 0, tzinfo=dt.UTC)


def test_shifting_calendar_days_keeps_the_wall_clock_time_across_dst() -> None:
    # 20 Oct 10:00 BST (09:00 UTC) + 7 days = 27 Oct 10:00 GMT (10:00 UTC).
    shifted = ENGLAND.shift_calendar_days(london_epoch(2026, 10, 20, 10, 0), 7)

    assert from_epoch(shifted) == dt.datetime(2026, 10, 27, 10, 0, tzinfo=dt.UTC)


def test_shifting_from_a_repeated_hour_never_runs_backwards() -> None:
    # 00:45 UTC is 01:45 BST (first pass through 01:00-02:00), 01:15 UTC is 01:15 GMT
    # (second pass). The earlier instant reads as the start of the repeated hour, 01:00,
    # so the later instant (01:15) still gets the later deadline.
    first_pass = to_epoch(dt.datetime(2026, 10, 25, 0, 45, tzinfo=dt.UTC))
    second_pass = to_epoch(dt.datetime(2026, 10, 25, 1, 15, tzinfo=dt.UTC))

    assert from_epoch(ENGLAND.shift_calendar_days(first_pass, 7)) == dt.datetime(
        2026, 11, 1, 1, 0, tzinfo=LONDON
    )
    assert from_epoch(ENGLAND.shift_calendar_days(second_pass, 7)) == dt.datetime(
        2026, 11, 1, 1, 15, tzinfo=LONDON
    )


def test_shifting_into_the_spring_gap_lands_on_the_jump() -> None:
    # 21 Mar 2027 01:30 GMT + 7 days -> 28 Mar 01:30, which never occurs -> 01:00 UTC.
    shifted = ENGLAND.shift_calendar_days(london_epoch(2027, 3, 21, 1, 30), 7)

    assert from_epoch(shifted) == dt.datetime(2027, 3, 28, 1, 0, tzinfo=dt.UTC)


def test_working_day_is_an_hour_shorter_in_utc_terms_only_when_it_spans_the_change() -> None:
    new_york = POLICIES.calendar("US")
    # The change is at 02:00 on a Sunday, outside working hours: Monday is a normal 8 hours.
    ((opening, closing),) = new_york.working_intervals(dt.date(2026, 11, 2))

    assert closing - opening == 8 * 3600
    assert from_epoch(opening) == dt.datetime(2026, 11, 2, 9, 0, tzinfo=NEW_YORK)


def test_unknown_jurisdiction_is_a_clear_error() -> None:
    with pytest.raises(ComplaintFactsError) as raised:
        POLICIES.calendar("GB-XYZ")

    assert raised.value.field == "jurisdiction"
    assert "GB-XYZ" in str(raised.value)
    assert "GB-SCT" in str(raised.value)  # the message lists the known ones


# --- a custom calendar: split days, Saturday mornings, an extra closure ------------------


@pytest.fixture(scope="module")
def split_day_policies(tmp_path_factory: pytest.TempPathFactory) -> PolicySet:
    directory: Path = tmp_path_factory.mktemp("split-day")
    (directory / "calendars.yaml").write_text(
        textwrap.dedent(
            """
            calendars:
              - id: GB-ENG
                title: Branch with a lunch break
                time_zone: Europe/London
                holidays: {country: GB, subdivision: ENG}
                working_hours:
                  mon: &split ["09:00-12:30", "13:30-17:00"]
                  tue: *split
                  wed: *split
                  thu: *split
                  fri: *split
                  sat: ["10:00-14:00"]
                closures:
                  - {date: 2026-12-24, name: Christmas Eve closure}
            """
        )
    )
    (directory / "branch.yaml").write_text(
        textwrap.dedent(
            """
            id: branch
            title: Branch service levels
            regime: any
            regulatory: false
            clocks:
              - id: branch-first
                kind: first_response
                title: First response
                due: {amount: 4, unit: business_hours}
              - id: branch-3bd
                kind: resolution
                title: Three business days
                due: {amount: 3, unit: business_days, cutoff: end_of_day}
            """
        )
    )
    return PolicySet.load(directory)


def test_business_hours_skip_the_lunch_break(split_day_policies: PolicySet) -> None:
    calendar = split_day_policies.calendar("GB-ENG")
    # Mon 11:00 + 4h: 11:00-12:30 (1.5h), 13:30 + 2.5h = 16:00.
    due = calendar.add_business_seconds(london_epoch(2026, 6, 8, 11, 0), 4 * 3600)

    assert due == london_epoch(2026, 6, 8, 16, 0)


def test_saturday_slot_counts_and_closures_close(split_day_policies: PolicySet) -> None:
    # Wed 23 Dec 2026 12:00 on the custom calendar. Business days after the 23rd:
    # Thu 24 closure, Fri 25 Christmas, Sat 26 Boxing Day (a working Saturday, but a
    # holiday), Mon 28 observed: Tue 29 (1), Wed 30 (2), Thu 31 (3); midnight ending it.
    facts = complaint(dt.datetime(2026, 12, 23, 12, 0, tzinfo=LONDON), regime="none")
    _, events = ComplaintClocks.start(facts, split_day_policies)
    dues = {event.clock_id: event.due_at for event in of_type(events, ClockStarted)}

    assert dues["branch-3bd"] == dt.datetime(2027, 1, 1, 0, 0, tzinfo=LONDON)
    closed = split_day_policies.calendar("GB-ENG").closed_day(dt.date(2026, 12, 24))
    assert closed is not None and (closed.name, closed.reason) == (
        "Christmas Eve closure",
        "closure",
    )


def test_saturday_morning_is_working_time_on_the_custom_calendar(
    split_day_policies: PolicySet,
) -> None:
    # Fri 16:00 + 4h: Fri 16:00-17:00 (1h), Sat 10:00 + 3h = 13:00.
    calendar = split_day_policies.calendar("GB-ENG")

    assert calendar.add_business_seconds(london_epoch(2026, 6, 5, 16, 0), 4 * 3600) == london_epoch(
        2026, 6, 6, 13, 0
    )


def test_shipped_calendars_cover_the_intake_jurisdictions() -> None:
    assert {"GB-ENG", "GB-SCT", "GB-NIR", "US", "AU-NSW", "AU-VIC"} <= set(POLICIES.calendars)
    assert due_times(complaint(dt.datetime(2026, 6, 1, 9, 0, tzinfo=LONDON)))
