"""When a person is expected at work: weekdays and hours in their own time zone.

Used only to judge absence ("offline for longer than the grace, during working hours"),
so one daily slot per working day is enough; deadlines use the sla's business calendars.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import holidays as holidays_lib

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class WorkingHours:
    time_zone: str
    days: frozenset[int]  # 0 = Monday
    start: dt.time
    end: dt.time
    holiday_country: str | None = None
    holiday_subdivision: str | None = None

    def _local(self, instant: dt.datetime) -> dt.datetime:
        if instant.tzinfo is None:
            raise ValueError("naive datetime: every instant in Kintsugi is timezone-aware")
        return instant.astimezone(ZoneInfo(self.time_zone))

    def _working_day(self, day: dt.date) -> bool:
        if day.weekday() not in self.days:
            return False
        if self.holiday_country is None:
            return True
        closed = holidays_lib.country_holidays(
            self.holiday_country, subdiv=self.holiday_subdivision, years=day.year
        )
        return day not in closed

    def opened_at(self, instant: dt.datetime) -> dt.datetime | None:
        """The start of the working slot ``instant`` falls in, or None outside working hours."""
        local = self._local(instant)
        if not self._working_day(local.date()):
            return None
        if not self.start <= local.time() < self.end:
            return None
        opened = dt.datetime.combine(local.date(), self.start, tzinfo=local.tzinfo)
        return opened.astimezone(dt.UTC)

    def is_working(self, instant: dt.datetime) -> bool:
        return self.opened_at(instant) is not None

    def absent_for(self, since: dt.datetime, now: dt.datetime) -> dt.timedelta:
        """Working time missed today: from ``since`` or the slot's start, whichever is later.

        Someone offline since Friday evening has missed nothing at 09:05 on Monday but
        five minutes, so a weekend never counts as absence.
        """
        opened = self.opened_at(now)
        if opened is None:
            return dt.timedelta(0)
        return max(dt.timedelta(0), now - max(since, opened))


ALWAYS = WorkingHours(
    time_zone="UTC", days=frozenset(range(7)), start=dt.time(0, 0), end=dt.time(23, 59, 59)
)
