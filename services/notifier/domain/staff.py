"""Messages to staff: an escalation to its named target, the "call the customer" task to
the owner, and the owner's alert when a customer message failed for good.

They ride the customer messages' ledger and retries (deterministic id from the event that
asked, so exactly once each), but go by email to a person in the staff directory, never to
the customer, never fall back to the customer's channels, and are not customer contact (no
`notification_sent` on the timeline: the sla must not count them as an update).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

STAFF_ESCALATION = "staff_escalation"
STAFF_CALL_CUSTOMER = "staff_call_customer"
# A customer message failed for good: its owner has to reach the customer another way.
STAFF_DELIVERY_FAILED = "staff_delivery_failed"
STAFF_PURPOSES = frozenset({STAFF_ESCALATION, STAFF_CALL_CUSTOMER, STAFF_DELIVERY_FAILED})

# Facts a staff message carries in its ledger entry, so a retry composes the same message.
STAFF_EMAIL = "staff_email"
STAFF_ID = "staff_id"
STAFF_NAME = "staff_name"
REASONS = "reasons"
LEVEL = "level"
FAILED_PURPOSE = "failed_purpose"


def is_staff(purpose: str) -> bool:
    return purpose in STAFF_PURPOSES


@dataclass(frozen=True, slots=True)
class Escalated:
    event_id: str
    level: int
    to_handler_id: str
    to_name: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CallRequested:
    event_id: str
    handler_id: str
    handler_name: str
    reasons: tuple[str, ...]


def staff_facts(
    directory: Mapping[str, str], staff_id: str, staff_name: str, reasons: tuple[str, ...]
) -> dict[str, str]:
    return {
        STAFF_ID: staff_id,
        STAFF_NAME: staff_name,
        # Empty when the directory has no address: the send fails for good, naming the id.
        STAFF_EMAIL: directory.get(staff_id, ""),
        REASONS: "\n".join(reasons),
    }
