"""When a progress update may go out: not at night for the customer.

PRODUCT rule 3 promises updates on a cadence; nobody wants "no news yet" at 3 a.m. Quiet
hours hold back progress updates only: an acknowledgement, a delay notice or a final
response is never held (rule 2: respond at once, whatever the hour; a delay notice must
arrive before the deadline it excuses). How many a customer gets a day is ``daily_cap``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

HELD_PURPOSES = frozenset({"progress_update"})


@dataclass(frozen=True, slots=True)
class SendingWindow:
    quiet_from: time = time(21, 0)
    quiet_until: time = time(8, 0)

    def __post_init__(self) -> None:
        if self.quiet_from == self.quiet_until:
            raise ValueError("quiet_until: must differ from quiet_from")

    def hold_until(self, purpose: str, zone: ZoneInfo, now: datetime) -> datetime | None:
        """When a held message may go out, or None to send it now."""
        if purpose not in HELD_PURPOSES:
            return None
        return self._after_quiet(zone, now)

    def _after_quiet(self, zone: ZoneInfo, now: datetime) -> datetime | None:
        local = now.astimezone(zone)
        clock = local.time()
        overnight = self.quiet_from > self.quiet_until
        quiet = (
            (clock >= self.quiet_from or clock < self.quiet_until)
            if overnight
            else self.quiet_from <= clock < self.quiet_until
        )
        if not quiet:
            return None
        day = local.date() if clock < self.quiet_until else local.date() + timedelta(days=1)
        return datetime.combine(day, self.quiet_until, tzinfo=zone)
