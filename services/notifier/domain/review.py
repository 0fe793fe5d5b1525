"""Executive review: a sampled complaint's responses wait for the chief executive's office.

PRODUCT rule 10: the router samples complaints (a deterministic draw, flagged on the
assignment) whose responses go to the office for review before they are sent. Responses
are what a regulator times - the final response and the holding response. Such a
response waits until the office approves or until ``margin`` before the deadline the
customer was promised, whichever comes first, and then goes out: review never makes a
response late. The release time is decided once, when the hold starts, and kept with the
message in the ledger, so a restart or a later event cannot move it.

The office approves by recording a note on the complaint (an ``ActivityRecorded`` of kind
NOTE) as one of the configured reviewers: a request for changes goes to the handler
outside Kintsugi, and the margin still guarantees the customer hears in time. An approval
stands for the complaint's responses from then on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.notifier.domain.case import PENDING, Case, LedgerEntry

REVIEWED_PURPOSES = frozenset({"final_response", "holding_response"})
# Ledger facts: when a held response goes out without approval, and when the hold began
# (ISO 8601; the second is what operators see as the hold's age).
RELEASE_AT = "review_release_at"
HELD_SINCE = "review_held_since"
HELD_FOR_REVIEW = "held for executive review"


def is_held_for_review(entry: LedgerEntry) -> bool:
    return entry.status == PENDING and entry.reason == HELD_FOR_REVIEW


def held_since(entry: LedgerEntry) -> datetime | None:
    """When the hold began; None for a hold recorded before its start was kept."""
    since = entry.facts.get(HELD_SINCE)
    return datetime.fromisoformat(since) if since else None


@dataclass(frozen=True, slots=True)
class ExecutiveReview:
    # How long before the response's regulatory deadline it goes out unapproved.
    margin: timedelta = timedelta(hours=24)
    # The longest a response waits when no regulatory deadline is known for it.
    longest_hold: timedelta = timedelta(hours=24)
    # Staff ids whose note on a complaint approves its responses (the router's directory).
    reviewers: frozenset[str] = frozenset({"exec.office"})

    def __post_init__(self) -> None:
        if self.margin < timedelta(0):
            raise ValueError("margin: must not be negative")
        if self.longest_hold <= timedelta(0):
            raise ValueError("longest_hold: must be positive")

    def approves(self, actor_id: str) -> bool:
        return actor_id in self.reviewers

    def release_at(
        self, case: Case, purpose: str, facts: Mapping[str, str], now: datetime
    ) -> datetime | None:
        """When a response held for review goes out regardless, or None: send it now."""
        if purpose not in REVIEWED_PURPOSES or not case.executive_review or case.review_approved:
            return None
        if RELEASE_AT in facts:  # decided when the hold began
            release = datetime.fromisoformat(facts[RELEASE_AT])
        else:
            deadline = _deadline(case, facts, now)
            release = deadline - self.margin if deadline else now + self.longest_hold
        return release if release > now else None


def _deadline(case: Case, facts: Mapping[str, str], now: datetime) -> datetime | None:
    """The deadline this response meets: the clock that asked for a holding response, or
    else the earliest regulatory response deadline still ahead (PSD2: the 15-business-day
    one until it has passed, then the 35-day one); None when the complaint has none."""
    if facts.get("deadline"):
        return datetime.fromisoformat(facts["deadline"])
    known = [datetime.fromisoformat(at) for at in case.deadlines.values()]
    ahead = [at for at in known if at > now]
    # All passed: already late, so the latest of them (in the past) sends it at once.
    return min(ahead) if ahead else max(known, default=None)
