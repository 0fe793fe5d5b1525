"""Deadline rules: how far a due instant lies from the instant a clock starts.

Units and where the deadline lands (the cutoff) are explicit in every policy:

- `minutes`, `hours`: elapsed time, 24/7; cutoff `exact_time`.
- `business_hours`: working time on the jurisdiction's calendar; cutoff `exact_time`.
- `calendar_days`: `exact_time` = the same local wall-clock time N days later (DST-correct:
  eight weeks from 10:00 BST is 10:00 GMT); `end_of_day` = the end of the N-th calendar day
  after the start day.
- `business_days`: the N-th business day after the start day (the start day never counts,
  whatever the hour); cutoff `close_of_business` = end of that day's last working slot, or
  `end_of_day` = local midnight ending it.

A rule may be the latest of several parts, e.g. "24 hours or one business day".

Deadlines are exclusive: something done strictly before the due instant is on time, and
the clock is breached at the due instant itself. "End of day D" is therefore local midnight
starting D+1, and "close of business" the slot's end, e.g. 17:00:00.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from services.sla.domain.business_calendar import BusinessCalendar


class DurationUnit(enum.StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    BUSINESS_HOURS = "business_hours"
    CALENDAR_DAYS = "calendar_days"
    BUSINESS_DAYS = "business_days"


class Cutoff(enum.StrEnum):
    EXACT_TIME = "exact_time"
    END_OF_DAY = "end_of_day"
    CLOSE_OF_BUSINESS = "close_of_business"


class Measure(enum.StrEnum):
    """How a clock's used time is counted: for thresholds, pauses and explanations."""

    ELAPSED = "elapsed"
    BUSINESS = "business"


ALLOWED_CUTOFFS: dict[DurationUnit, frozenset[Cutoff]] = {
    DurationUnit.MINUTES: frozenset({Cutoff.EXACT_TIME}),
    DurationUnit.HOURS: frozenset({Cutoff.EXACT_TIME}),
    DurationUnit.BUSINESS_HOURS: frozenset({Cutoff.EXACT_TIME}),
    DurationUnit.CALENDAR_DAYS: frozenset({Cutoff.EXACT_TIME, Cutoff.END_OF_DAY}),
    DurationUnit.BUSINESS_DAYS: frozenset({Cutoff.END_OF_DAY, Cutoff.CLOSE_OF_BUSINESS}),
}
LEAD_UNITS = frozenset(
    {
        DurationUnit.MINUTES,
        DurationUnit.HOURS,
        DurationUnit.BUSINESS_HOURS,
        DurationUnit.CALENDAR_DAYS,
    }
)
_BUSINESS_UNITS = frozenset({DurationUnit.BUSINESS_HOURS, DurationUnit.BUSINESS_DAYS})
_SECONDS = {DurationUnit.MINUTES: 60, DurationUnit.HOURS: 3600, DurationUnit.BUSINESS_HOURS: 3600}


@dataclass(frozen=True, slots=True)
class DurationPart:
    amount: int
    unit: DurationUnit
    cutoff: Cutoff = Cutoff.EXACT_TIME

    def deadline_from(self, start: int, calendar: BusinessCalendar) -> int:
        unit = self.unit
        if unit is DurationUnit.MINUTES or unit is DurationUnit.HOURS:
            return start + self.amount * _SECONDS[unit]
        if unit is DurationUnit.BUSINESS_HOURS:
            return calendar.add_business_seconds(start, self.amount * 3600)
        if unit is DurationUnit.CALENDAR_DAYS:
            if self.cutoff is Cutoff.EXACT_TIME:
                return calendar.shift_calendar_days(start, self.amount)
            return calendar.end_of_day(calendar.local_date(start) + dt.timedelta(days=self.amount))
        day = calendar.nth_business_day_after(calendar.local_date(start), self.amount)
        if self.cutoff is Cutoff.CLOSE_OF_BUSINESS:
            return calendar.close_of_business(day)
        return calendar.end_of_day(day)

    def describe(self) -> str:
        quantity = f"{self.amount} {self.unit.value.replace('_', ' ')}"
        if self.amount == 1:
            quantity = quantity.removesuffix("s")
        if self.unit is DurationUnit.CALENDAR_DAYS and self.cutoff is Cutoff.EXACT_TIME:
            return f"{quantity} later, same local time"
        if self.unit is DurationUnit.CALENDAR_DAYS:
            return f"end of the {_ordinal(self.amount)} calendar day after the start day"
        if self.unit is DurationUnit.BUSINESS_DAYS:
            cutoff = "close of business" if self.cutoff is Cutoff.CLOSE_OF_BUSINESS else "midnight"
            return f"{cutoff} on the {_ordinal(self.amount)} business day after the start day"
        if self.unit is DurationUnit.BUSINESS_HOURS:
            return f"{quantity} (working time only)"
        return f"{quantity} (elapsed, around the clock)"


@dataclass(frozen=True, slots=True)
class DueRule:
    """The deadline is the latest of its parts (usually exactly one)."""

    parts: tuple[DurationPart, ...]

    @property
    def measure(self) -> Measure:
        if len(self.parts) == 1 and self.parts[0].unit in _BUSINESS_UNITS:
            return Measure.BUSINESS
        return Measure.ELAPSED

    @property
    def is_date_only(self) -> bool:
        """Every part ends at the end of a day: the deadline is a date, not a time."""
        return all(part.cutoff is Cutoff.END_OF_DAY for part in self.parts)

    def deadline_from(self, start: int, calendar: BusinessCalendar) -> int:
        return max(part.deadline_from(start, calendar) for part in self.parts)

    def describe(self) -> str:
        if len(self.parts) == 1:
            return self.parts[0].describe()
        return "the later of: " + "; ".join(part.describe() for part in self.parts)


@dataclass(frozen=True, slots=True)
class LeadTime:
    """How long before a customer-facing deadline the customer update falls due."""

    amount: int
    unit: DurationUnit

    def before(self, deadline: int, calendar: BusinessCalendar) -> int:
        if self.unit is DurationUnit.CALENDAR_DAYS:
            return calendar.shift_calendar_days(deadline, -self.amount)
        if self.unit is DurationUnit.BUSINESS_HOURS:
            return calendar.subtract_business_seconds(deadline, self.amount * 3600)
        return deadline - self.amount * _SECONDS[self.unit]

    def describe(self) -> str:
        return f"{self.amount} {self.unit.value.replace('_', ' ')} before the deadline"


def measure_between(measure: Measure, calendar: BusinessCalendar, start: int, end: int) -> int:
    if measure is Measure.BUSINESS:
        return calendar.business_seconds_between(start, end)
    return max(0, end - start)


def advance(measure: Measure, calendar: BusinessCalendar, instant: int, seconds: int) -> int:
    if measure is Measure.BUSINESS:
        return calendar.add_business_seconds(instant, seconds)
    return instant + max(0, seconds)


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"
