"""When a progress update may go out: not at night for the customer, not too often.

PRODUCT rule 3 promises updates on a cadence; nobody wants "no news yet" at 3 a.m. or a
fifth one today. Quiet hours and the daily cap hold back progress updates only: an
acknowledgement, a delay notice or a final response is never held (rule 2: respond at
once, whatever the hour; a delay notice must arrive before the deadline it excuses).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.notifier.domain.case import SENT, Case

HELD_PURPOSES = frozenset({"progress_update"})


@dataclass(frozen=True, slots=True)
class SendingWindow:
    quiet_from: time = time(21, 0)
    quiet_until: time = time(8, 0)
    daily_cap: int = 3

    def __post_init__(self) -> None:
        if self.daily_cap < 1:
            raise ValueError("daily_cap: must be at least 1")
        if self.quiet_from == self.quiet_until:
            raise ValueError("quiet_until: must differ from quiet_from")

    def hold_until(
        self, case: Case, purpose: str, zone: ZoneInfo, now: datetime
    ) -> datetime | None:
        """When a held message may go out, or None to send it now."""
        if purpose not in HELD_PURPOSES:
            return None
        later = [
            at
            for at in (self._after_quiet(zone, now), self._after_cap(case, purpose, now))
            if at is not None
        ]
        return max(later) if later else None

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

    def _after_cap(self, case: Case, purpose: str, now: datetime) -> datetime | None:
        day_ago = now - timedelta(days=1)
        sent = sorted(
            datetime.fromisoformat(e.sent_at)
            for e in case.ledger.values()
            if e.status == SENT
            and e.purpose == purpose
            and e.sent_at
            and datetime.fromisoformat(e.sent_at) > day_ago
        )
        if len(sent) < self.daily_cap:
            return None
        # When the oldest of the last cap-many leaves the 24-hour window.
        return sent[-self.daily_cap] + timedelta(days=1)
