"""When to try a delivery again, and when to stop.

Failures are transient (connection refused, timeout, any SMTP 4xx - greylisting answers
4xx to RCPT - HTTP 429/5xx) or permanent (SMTP 5xx, an invalid recipient, HTTP 4xx other
than 429). Transient ones are retried with exponential backoff and jitter until the
purpose's horizon has passed; the jitter derives from the notification id and attempt, so
the schedule is the same on every replay and still spreads a backlog over time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum


class FailureKind(Enum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class DeliveryFailure(Exception):
    """A provider did not take the message; ``kind`` says whether trying again can help."""

    kind: FailureKind
    reason: str

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.reason}"


def transient(reason: str) -> DeliveryFailure:
    return DeliveryFailure(FailureKind.TRANSIENT, reason)


def permanent(reason: str) -> DeliveryFailure:
    return DeliveryFailure(FailureKind.PERMANENT, reason)


def smtp_failure(code: int, message: str, stage: str) -> DeliveryFailure:
    """An SMTP reply code at ``stage`` (connect, MAIL, RCPT, DATA): 4xx waits, 5xx is final."""
    reason = f"SMTP {code} at {stage}: {message}"
    return permanent(reason) if 500 <= code < 600 else transient(reason)


def http_failure(status: int, detail: str) -> DeliveryFailure:
    reason = f"HTTP {status}: {detail}"
    if status == 429 or status >= 500 or status == 408:
        return transient(reason)
    return permanent(reason)


DEFAULT_HORIZONS = {
    # An acknowledgement is the promise of a reply at once: it keeps trying for a day.
    "acknowledgement": timedelta(hours=24),
    "public_acknowledgement": timedelta(hours=6),
    "progress_update": timedelta(hours=12),
    "delay_notice": timedelta(hours=24),
    "holding_response": timedelta(hours=24),
    "final_response": timedelta(hours=72),
}


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    first_backoff: timedelta = timedelta(seconds=15)
    max_backoff: timedelta = timedelta(minutes=10)
    jitter_fraction: float = 0.2
    horizons: dict[str, timedelta] = field(default_factory=lambda: dict(DEFAULT_HORIZONS))
    default_horizon: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.first_backoff <= timedelta(0):
            raise ValueError("first_backoff: must be positive")
        if self.max_backoff < self.first_backoff:
            raise ValueError("max_backoff: must be at least first_backoff")
        if not 0 <= self.jitter_fraction < 1:
            raise ValueError("jitter_fraction: must be in [0, 1)")

    def horizon(self, purpose: str) -> timedelta:
        return self.horizons.get(purpose, self.default_horizon)

    def backoff(self, notification_id: str, attempt: int) -> timedelta:
        """Wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.max_backoff, self.first_backoff * (2 ** min(attempt - 1, 30)))
        digest = hashlib.sha256(f"{notification_id}/{attempt}".encode()).digest()
        unit = int.from_bytes(digest[:8], "big") / 2**64  # in [0, 1)
        return timedelta(seconds=base.total_seconds() * (1 + self.jitter_fraction * (2 * unit - 1)))

    def next_attempt(
        self,
        *,
        notification_id: str,
        purpose: str,
        attempt: int,
        first_tried: datetime,
        now: datetime,
    ) -> datetime | None:
        """When to try again after failed attempt ``attempt``, or None: the horizon passed."""
        at = now + self.backoff(notification_id, attempt)
        return at if at <= first_tried + self.horizon(purpose) else None
