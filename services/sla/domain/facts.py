"""What the SLA domain needs to know about a complaint, and what can happen to it."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from kintsugi.common.names import CHANNELS as CHANNELS
from kintsugi.common.names import SEVERITIES as SEVERITIES
from services.sla.domain.errors import ComplaintFactsError

# Identifiers emitted by the intake service; policies may only refer to these.
NO_REGIME = "none"


class Milestone(enum.StrEnum):
    ACKNOWLEDGED = "acknowledged"
    CUSTOMER_UPDATED = "customer_updated"
    HOLDING_RESPONSE_SENT = "holding_response_sent"
    FINAL_RESPONSE_SENT = "final_response_sent"
    SUMMARY_RESOLUTION_SENT = "summary_resolution_sent"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    CUSTOMER_RESPONDED = "customer_responded"
    REOPENED = "reopened"
    CLOSED = "closed"


# Milestones that put something in front of the customer: only these can meet a clock.
CUSTOMER_COMMUNICATIONS = frozenset(
    {
        Milestone.ACKNOWLEDGED,
        Milestone.CUSTOMER_UPDATED,
        Milestone.HOLDING_RESPONSE_SENT,
        Milestone.FINAL_RESPONSE_SENT,
        Milestone.SUMMARY_RESOLUTION_SENT,
    }
)


def normalise_category(category: str) -> str:
    """'Default notice', 'default-notice' and 'default_notice' are the same category."""
    return "_".join(category.strip().lower().replace("-", " ").split())


@dataclass(frozen=True, slots=True)
class ComplaintFacts:
    """A complaint as classified by intake; `received_at` is the firm's receipt time."""

    complaint_id: str
    regime: str
    jurisdiction: str
    severity: str
    channel: str
    category: str
    received_at: dt.datetime

    def __post_init__(self) -> None:
        if not self.complaint_id.strip():
            raise ComplaintFactsError("complaint_id", "must not be empty")
        if self.received_at.tzinfo is None or self.received_at.utcoffset() is None:
            raise ComplaintFactsError(
                "received_at", f"{self.received_at.isoformat()} has no time zone"
            )
        if self.severity not in SEVERITIES:
            raise ComplaintFactsError(
                "severity", f"{self.severity!r} is not one of {', '.join(SEVERITIES)}"
            )
        if self.channel not in CHANNELS:
            raise ComplaintFactsError(
                "channel", f"{self.channel!r} is not one of {', '.join(CHANNELS)}"
            )

    @property
    def normalised_category(self) -> str:
        return normalise_category(self.category)
