"""At most N progress updates a day per customer, whichever complaints they are about.

A customer with two open complaints has two cadence clocks; the cap is about the person,
who should not hear "no news yet" five times today. Complaints are partitioned by
complaint id, so one customer's complaints may be handled by different notifier replicas:
the cap cannot be decided from one complaint's state. Each update that wants to go
*claims* a place on a log keyed by customer (the notifier's update-claims topic), and every
replica applies the claims in log order with this table, so every replica - and every
restart, which reads the log again - reaches the same verdict for every claim without
talking to the others.

Only progress updates are claimed: an acknowledgement, a delay notice or a response is
never held back (rule 2, and a delay notice must arrive before the deadline it excuses).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

CAPPED_PURPOSES = frozenset({"progress_update"})
WINDOW = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class UpdateClaim:
    customer_key: str
    notification_id: str
    at: datetime  # when the claiming replica wanted to send (aware)


class DailyCapTable:
    """The verdict for each claim, applied in log order: None (go) or when to claim again."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit: must be at least 1")
        self._limit = limit
        # Granted updates per customer: notification id -> when it was claimed.
        self._granted: dict[str, dict[str, datetime]] = defaultdict(dict)

    def apply(self, claim: UpdateClaim) -> datetime | None:
        granted = self._granted[claim.customer_key]
        if claim.notification_id in granted:
            return None  # claimed again (a retry, a replay, a restart): it has its place
        recent = sorted(at for at in granted.values() if claim.at - WINDOW < at <= claim.at)
        if len(recent) < self._limit:
            granted[claim.notification_id] = claim.at
            self._forget_before(claim.customer_key, claim.at - 2 * WINDOW)
            return None
        # When the oldest of the last limit-many grants leaves the 24-hour window.
        return recent[-self._limit] + WINDOW

    def _forget_before(self, customer_key: str, horizon: datetime) -> None:
        """Grants older than any window a later claim can look at need no memory."""
        granted = self._granted[customer_key]
        for notification_id in [n for n, at in granted.items() if at < horizon]:
            del granted[notification_id]
