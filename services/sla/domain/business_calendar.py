"""Business calendars: when a jurisdiction is open, in its own time zone.

A business day is a weekday that has working slots and is neither a public holiday (from the
`holidays` package, by country and subdivision) nor a configured closure. Business time is
real elapsed time inside working slots, so a slot spanning a DST change is an hour shorter
or longer, exactly as the office experiences it.

Wall-clock times are turned into instants with two explicit rules:

- a wall time that occurs twice (clocks go back) means its first occurrence;
- a wall time that never occurs (clocks go forward) means the instant the clocks jump, the
  first moment the wall clock shows that time or later.

All arithmetic is on integer epoch seconds (see `instants`); per-day working intervals and
per-year holiday tables are cached on the calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from services.sla.domain.errors import CalendarError
from services.sla.domain.instants import EPOCH, from_epoch, to_epoch

MINUTES_PER_DAY = 1440
# Ten years without a single working second is a configuration error, not a deadline.
_MAX_DAYS_SCANNED = 3_660
_ONE_DAY = dt.timedelta(days=1)

Interval = tuple[int, int]


@dataclass(frozen=True, slots=True)
class WorkingSlot:
    """Working time within one local day, in minutes after midnight; end may be 1440."""

    start_minute: int
    end_minute: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start_minute)}-{_hhmm(self.end_minute)}"


@dataclass(frozen=True, slots=True)
class HolidaySource:
    country: str
    subdivision: str | None = None


@dataclass(frozen=True, slots=True)
class ClosedDay:
    """A day that would be a working day but is closed, and why."""

    day: dt.date
    name: str
    reason: Literal["public_holiday", "closure"]


class BusinessCalendar:
    """Working time of one jurisdiction: zone, weekly slots, holidays, extra closures."""

    __slots__ = (
        "_business_days",
        "_closures",
        "_holiday_source",
        "_holidays_by_year",
        "_intervals_by_day",
        "_working_week",
        "calendar_id",
        "time_zone",
        "title",
        "zone",
    )

    def __init__(
        self,
        *,
        calendar_id: str,
        title: str,
        time_zone: str,
        working_week: Sequence[Sequence[WorkingSlot]],
        holiday_source: HolidaySource | None,
        closures: Mapping[dt.date, str],
    ) -> None:
        if len(working_week) != 7:
            raise ValueError("working_week needs seven entries, Monday first")
        if not any(working_week):
            raise CalendarError(f"calendar {calendar_id} has no working time in the week")
        self.calendar_id = calendar_id
        self.title = title
        self.time_zone = time_zone
        self.zone = ZoneInfo(time_zone)
        self._working_week = tuple(tuple(day) for day in working_week)
        self._holiday_source = holiday_source
        self._closures = dict(closures)
        self._holidays_by_year: dict[int, dict[dt.date, str]] = {}
        self._business_days: dict[dt.date, bool] = {}
        self._intervals_by_day: dict[dt.date, tuple[Interval, ...]] = {}

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.calendar_id!r}, {self.time_zone!r})"

    @property
    def working_week(self) -> tuple[tuple[WorkingSlot, ...], ...]:
        return self._working_week

    # --- days ---------------------------------------------------------------------------

    def local_date(self, instant: int) -> dt.date:
        return from_epoch(instant).astimezone(self.zone).date()

    def public_holiday(self, day: dt.date) -> str | None:
        source = self._holiday_source
        if source is None:
            return None
        table = self._holidays_by_year.get(day.year)
        if table is None:
            table = dict(
                holidays_lib.country_holidays(
                    source.country, subdiv=source.subdivision, years=day.year
                ).items()
            )
            self._holidays_by_year[day.year] = table
        return table.get(day)

    def closed_day(self, day: dt.date) -> ClosedDay | None:
        """Why a day with working slots is closed anyway, or None if it is not."""
        if not self._working_week[day.weekday()]:
            return None
        holiday = self.public_holiday(day)
        if holiday is not None:
            return ClosedDay(day, holiday, "public_holiday")
        closure = self._closures.get(day)
        if closure is not None:
            return ClosedDay(day, closure, "closure")
        return None

    def closed_days_between(self, first: dt.date, last: dt.date) -> list[ClosedDay]:
        closed: list[ClosedDay] = []
        day = first
        while day <= last:
            reason = self.closed_day(day)
            if reason is not None:
                closed.append(reason)
            day += _ONE_DAY
        return closed

    def is_business_day(self, day: dt.date) -> bool:
        known = self._business_days.get(day)
        if known is None:
            known = bool(self._working_week[day.weekday()]) and self.closed_day(day) is None
            self._business_days[day] = known
        return known

    def nth_business_day_after(self, day: dt.date, count: int) -> dt.date:
        """The `count`-th business day strictly after `day` (the day itself never counts)."""
        found = 0
        for _ in range(_MAX_DAYS_SCANNED):
            day += _ONE_DAY
            if self.is_business_day(day):
                found += 1
                if found >= count:
                    return day
        raise CalendarError(f"calendar {self.calendar_id}: no business day found after {day}")

    def close_of_business(self, day: dt.date) -> int:
        intervals = self.working_intervals(day)
        if not intervals:
            raise CalendarError(f"calendar {self.calendar_id}: {day} is not a business day")
        return intervals[-1][1]

    def end_of_day(self, day: dt.date) -> int:
        """The instant the local day ends, which is local midnight of the next day."""
        return self.resolve_wall_time(dt.datetime.combine(day + _ONE_DAY, dt.time()))

    def working_intervals(self, day: dt.date) -> tuple[Interval, ...]:
        """Working time of a local day as [start, end) epoch-second intervals."""
        cached = self._intervals_by_day.get(day)
        if cached is not None:
            return cached
        intervals: tuple[Interval, ...] = ()
        if self.is_business_day(day):
            midnight = dt.datetime.combine(day, dt.time())
            resolved = (
                (
                    self.resolve_wall_time(midnight + dt.timedelta(minutes=slot.start_minute)),
                    self.resolve_wall_time(midnight + dt.timedelta(minutes=slot.end_minute)),
                )
                for slot in self._working_week[day.weekday()]
            )
            intervals = tuple((start, end) for start, end in resolved if end > start)
        self._intervals_by_day[day] = intervals
        return intervals

    # --- wall clock ---------------------------------------------------------------------

    def resolve_wall_time(self, wall: dt.datetime) -> int:
        """Instant of a naive local wall time (first occurrence; a skipped time -> the jump)."""
        first = to_epoch(wall.replace(tzinfo=self.zone, fold=0))
        if self._wall(first) == wall:
            return first
        other = to_epoch(wall.replace(tzinfo=self.zone, fold=1))
        return self._offset_change_after(min(first, other), max(first, other))

    def shift_calendar_days(self, instant: int, days: int) -> int:
        """Same local wall-clock time `days` days later (or earlier, if negative).

        An instant in the first pass through a repeated hour reads as the start of that
        hour, so that later instants never map to earlier results.
        """
        local = from_epoch(instant).astimezone(self.zone)
        wall = local.replace(tzinfo=None)
        second_pass = to_epoch(local.replace(fold=1))
        if local.fold == 0 and second_pass != instant:
            wall = self._wall(self._offset_change_after(instant, second_pass))
        return self.resolve_wall_time(wall + dt.timedelta(days=days))

    def _wall(self, instant: int) -> dt.datetime:
        return from_epoch(instant).astimezone(self.zone).replace(tzinfo=None)

    def _offset_change_after(self, low: int, high: int) -> int:
        """Smallest instant in (low, high] whose UTC offset differs from that at `low`."""
        offset_at_low = (EPOCH + dt.timedelta(seconds=low)).astimezone(self.zone).utcoffset()
        while high - low > 1:
            middle = (low + high) // 2
            if from_epoch(middle).astimezone(self.zone).utcoffset() == offset_at_low:
                low = middle
            else:
                high = middle
        return high

    # --- business time ------------------------------------------------------------------

    def business_seconds_between(self, start: int, end: int) -> int:
        if end <= start:
            return 0
        total = 0
        day = self.local_date(start)
        last = self.local_date(end)
        while day <= last:
            for slot_start, slot_end in self.working_intervals(day):
                overlap = min(slot_end, end) - max(slot_start, start)
                if overlap > 0:
                    total += overlap
            day += _ONE_DAY
        return total

    def add_business_seconds(self, instant: int, seconds: int) -> int:
        """The instant at which `seconds` of working time have passed since `instant`.

        Zero seconds returns `instant` unchanged, even outside working time; otherwise the
        result is inside or at the end of a working slot.
        """
        if seconds <= 0:
            return instant
        remaining = seconds
        day = self.local_date(instant)
        for _ in range(_MAX_DAYS_SCANNED):
            for slot_start, slot_end in self.working_intervals(day):
                if slot_end <= instant:
                    continue
                begin = max(slot_start, instant)
                available = slot_end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            day += _ONE_DAY
        raise CalendarError(f"calendar {self.calendar_id}: no working time after {day}")

    def subtract_business_seconds(self, instant: int, seconds: int) -> int:
        """The latest instant from which `seconds` of working time reach `instant`."""
        if seconds <= 0:
            return instant
        remaining = seconds
        day = self.local_date(instant)
        for _ in range(_MAX_DAYS_SCANNED):
            for slot_start, slot_end in reversed(self.working_intervals(day)):
                if slot_start >= instant:
                    continue
                finish = min(slot_end, instant)
                available = finish - slot_start
                if remaining <= available:
                    return finish - remaining
                remaining -= available
            day -= _ONE_DAY
        raise CalendarError(f"calendar {self.calendar_id}: no working time before {day}")


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
