"""Ledger transitions for one notification: attempt, success, failure, fallback, give up.

Pure: the service performs the send and passes the outcome and ``now`` in; these
functions say what the ledger records and what the complaint's timeline should show.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from services.notifier.domain.case import FAILED, PENDING, SENT, LedgerEntry
from services.notifier.domain.planner import PUBLIC_ACKNOWLEDGEMENT, Planned
from services.notifier.domain.retry import DeliveryFailure, FailureKind, RetrySchedule


class Verdict(Enum):
    SENT = "sent"
    # Transient failure: tried again at ``next_attempt_at``, on the same channel.
    RETRY_SCHEDULED = "retry_scheduled"
    # Permanent failure on one channel: the next channel in the fallback order takes over.
    FALLBACK = "fallback"
    # No channel left, or the retry horizon passed: a person has to step in.
    GIVEN_UP = "given_up"


@dataclass(frozen=True, slots=True)
class Step:
    entry: LedgerEntry
    verdict: Verdict


def opened(planned: Planned, cause_event_id: str, correlation_id: str) -> LedgerEntry:
    return LedgerEntry(
        purpose=planned.purpose,
        cause=planned.cause,
        facts=dict(planned.facts),
        cause_event_id=cause_event_id,
        correlation_id=correlation_id,
    )


def as_planned(notification_id: str, entry: LedgerEntry) -> Planned:
    public = entry.purpose == PUBLIC_ACKNOWLEDGEMENT
    return Planned(notification_id, entry.purpose, entry.cause, dict(entry.facts), public)


def succeeded(entry: LedgerEntry, channel: str, provider_message_id: str, now: datetime) -> Step:
    done = replace(
        entry,
        status=SENT,
        channel=channel,
        attempts=entry.attempts + 1,
        first_tried_at=entry.first_tried_at or now.isoformat(),
        next_attempt_at="",
        provider_message_id=provider_message_id,
        sent_at=now.isoformat(),
    )
    return Step(done, Verdict.SENT)


def failed(
    entry: LedgerEntry,
    *,
    notification_id: str,
    channel: str,
    failure: DeliveryFailure,
    has_fallback: bool,
    schedule: RetrySchedule,
    now: datetime,
) -> Step:
    """What follows a failed attempt on ``channel`` (``has_fallback``: another channel is
    left for this message once ``channel`` is excluded)."""
    attempts = entry.attempts + 1
    first = entry.first_tried or now
    tried = replace(
        entry,
        channel=channel,
        attempts=attempts,
        first_tried_at=first.isoformat(),
        reason=failure.reason,
    )
    if failure.kind is FailureKind.PERMANENT:
        failed_channels = (*entry.failed_channels, channel)
        if has_fallback:
            fallback = replace(
                tried, failed_channels=failed_channels, next_attempt_at=now.isoformat()
            )
            return Step(fallback, Verdict.FALLBACK)
        return Step(
            replace(tried, status=FAILED, failed_channels=failed_channels, next_attempt_at=""),
            Verdict.GIVEN_UP,
        )
    next_at = schedule.next_attempt(
        notification_id=notification_id,
        purpose=entry.purpose,
        attempt=attempts,
        first_tried=first,
        now=now,
    )
    if next_at is None:
        return Step(replace(tried, status=FAILED, next_attempt_at=""), Verdict.GIVEN_UP)
    return Step(
        replace(tried, status=PENDING, next_attempt_at=next_at.isoformat()), Verdict.RETRY_SCHEDULED
    )


def deferred(entry: LedgerEntry, *, reason: str, retry_at: datetime, now: datetime) -> LedgerEntry:
    """Not attempted (the destination's circuit is open): no attempt counted, but the
    horizon runs from now, so a long outage still ends in a decision."""
    return replace(
        entry,
        first_tried_at=entry.first_tried_at or now.isoformat(),
        next_attempt_at=retry_at.isoformat(),
        reason=reason,
    )
