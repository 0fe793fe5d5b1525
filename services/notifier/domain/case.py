"""What the notifier knows about a complaint: whom to write to, who signs, what was sent.

The ledger holds one entry per notification id (deterministic from complaint, purpose
and cause): pending with its next attempt time, sent, or failed for good. It is the
notifier's durable memory, so a replay or a restart never sends the same message twice
and a pending delivery survives the process that scheduled it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from kintsugi.common import json_state
from services.notifier.domain.staff import STAFF_PURPOSES

_SCHEMA = 1

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
_STATUSES = frozenset({PENDING, SENT, FAILED})

# What a message is for (its templates are chosen by it).
ACKNOWLEDGEMENT = "acknowledgement"
PUBLIC_ACKNOWLEDGEMENT = "public_acknowledgement"
PROGRESS_UPDATE = "progress_update"
DELAY_NOTICE = "delay_notice"
HOLDING_RESPONSE = "holding_response"
FINAL_RESPONSE = "final_response"
PURPOSES = STAFF_PURPOSES | {
    ACKNOWLEDGEMENT,
    PUBLIC_ACKNOWLEDGEMENT,
    PROGRESS_UPDATE,
    DELAY_NOTICE,
    HOLDING_RESPONSE,
    FINAL_RESPONSE,
}


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    purpose: str
    cause: str
    status: str = PENDING
    channel: str = ""
    attempts: int = 0
    first_tried_at: str = ""  # ISO 8601, aware
    next_attempt_at: str = ""  # ISO 8601, aware; set while pending after a failure
    reason: str = ""
    provider_message_id: str = ""
    sent_at: str = ""  # ISO 8601, aware
    # What the message was about (dates, clock), so a retry composes the same message.
    facts: dict[str, str] = field(default_factory=dict)
    # Channels that failed permanently for this message; the next is their fallback.
    failed_channels: tuple[str, ...] = ()
    # The event that asked for the message: a retry's outcome events answer it too.
    cause_event_id: str = ""
    correlation_id: str = ""

    @property
    def due_at(self) -> datetime | None:
        return datetime.fromisoformat(self.next_attempt_at) if self.next_attempt_at else None

    @property
    def first_tried(self) -> datetime | None:
        return datetime.fromisoformat(self.first_tried_at) if self.first_tried_at else None


@dataclass(frozen=True, slots=True)
class Case:
    complaint_id: str
    customer_name: str
    channel: str
    email: str = ""
    phone: str = ""
    social_handle: str = ""
    language: str = "en"
    subject: str = ""
    regime: str = ""
    category: str = ""
    handler_name: str = ""
    team_name: str = ""
    # The latest assignee, whom staff alerts about this complaint go to (the signer above
    # stays the first owner the customer heard from).
    owner_id: str = ""
    owner_name: str = ""
    # Final outcome ("sent" or "rejected") per notification id, from before the ledger:
    # still honoured so state written by older versions never sends twice.
    outcomes: dict[str, str] = field(default_factory=dict)
    ledger: dict[str, LedgerEntry] = field(default_factory=dict)
    resolved: bool = False
    # Whose daily cap a progress update counts against: the same person behind several
    # complaints (a derived id, never the contact itself).
    customer_key: str = ""
    # The router sampled the complaint for executive review (rule 10), and the office's
    # approval, once recorded.
    executive_review: bool = False
    review_approved: bool = False
    # Regulatory response deadlines by clock kind (ISO 8601): what a held response must meet.
    deadlines: dict[str, str] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        """A short reference a customer can quote on the phone."""
        return self.complaint_id.replace("-", "")[:10].upper()

    def with_handler(self, handler_name: str, team_name: str) -> Case:
        return replace(self, handler_name=handler_name, team_name=team_name)

    def with_outcome(self, notification_id: str, outcome: str) -> Case:
        return replace(self, outcomes={**self.outcomes, notification_id: outcome})

    def outcome(self, notification_id: str) -> str | None:
        return self.outcomes.get(notification_id)

    def entry(self, notification_id: str) -> LedgerEntry | None:
        entry = self.ledger.get(notification_id)
        if entry is None and notification_id in self.outcomes:
            legacy = SENT if self.outcomes[notification_id] == SENT else FAILED
            return LedgerEntry(purpose="", cause="", status=legacy)
        return entry

    def with_entry(self, notification_id: str, entry: LedgerEntry) -> Case:
        return replace(self, ledger={**self.ledger, notification_id: entry})

    def pending(self) -> dict[str, LedgerEntry]:
        return {n: e for n, e in self.ledger.items() if e.status == PENDING}

    def next_retry_at(self) -> datetime | None:
        due = [e.due_at for e in self.ledger.values() if e.status == PENDING and e.due_at]
        return min(due) if due else None

    def to_bytes(self) -> bytes:
        return json_state.dump(self, _SCHEMA)

    @classmethod
    def from_bytes(cls, data: bytes) -> Case:
        """The case stored as `data`: ValueError or TypeError, naming the field, for a
        record this build cannot use (damaged, or a newer version's), so that it fails
        here for its own complaint and never halfway through a pass over every case."""
        body: dict[str, Any] = json_state.load(data, _SCHEMA)
        ledger = _checked(body.pop("ledger", {}), "ledger", dict)
        entries = {}
        for notification_id, entry in ledger.items():
            _checked(entry, "ledger entry", dict)
            failed = tuple(_checked(entry.get("failed_channels", []), "failed_channels", list))
            entries[notification_id] = _checked_record(
                LedgerEntry(**{**entry, "failed_channels": failed})
            )
            if entries[notification_id].purpose not in PURPOSES:
                raise ValueError("ledger entry: a purpose this build does not know")
            if entries[notification_id].status not in _STATUSES:
                raise ValueError("ledger entry: a status this build does not know")
        case: Case = _checked_record(cls(**body, ledger=entries))
        for at in case.deadlines.values():
            _instant(at, "deadlines")
        return case


_PLAIN_TYPES: dict[str, type] = {"str": str, "int": int, "bool": bool}
_INSTANTS = frozenset({"first_tried_at", "next_attempt_at", "sent_at"})


def _checked(value: Any, name: str, kind: type) -> Any:
    if type(value) is not kind:  # exact: JSON true must not pass for an int
        raise TypeError(f"{name}: a {type(value).__name__}, not a {kind.__name__}")
    return value


def _checked_record(record: Any) -> Any:
    """`record` (a Case or LedgerEntry built from JSON) if each field has its declared type,
    its containers hold strings, and its instants read as ISO 8601."""
    for declared in fields(record):
        value = getattr(record, declared.name)
        container = str(declared.type).partition("[")[0]
        if container in _PLAIN_TYPES:
            _checked(value, declared.name, _PLAIN_TYPES[container])
        elif container == "tuple":
            _checked(value, declared.name, tuple)
            if not all(type(item) is str for item in value):
                raise TypeError(f"{declared.name}: items must be strings")
        elif container == "dict" and declared.name != "ledger":
            _checked(value, declared.name, dict)
            if not all(type(item) is str for item in value.values()):
                raise TypeError(f"{declared.name}: values must be strings")
        if declared.name in _INSTANTS and value:
            _instant(value, declared.name)
    return record


def _instant(text: str, name: str) -> None:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name}: not an ISO 8601 instant") from None
    if at.tzinfo is None:
        raise ValueError(f"{name}: an instant without its UTC offset")


def mask_email(address: str) -> str:
    """Enough to recognise the address in an audit trail, not enough to leak it."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_recipient(channel: str, recipient: str) -> str:
    if channel == "email":
        return mask_email(recipient)
    if channel == "sms":
        return f"***{recipient[-3:]}" if len(recipient) > 3 else "***"
    if channel == "letter":
        return "postal address on file"
    return f"{recipient[:2]}***" if recipient else "***"
