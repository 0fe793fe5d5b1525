"""What the notifier knows about a complaint: whom to write to, who signs, what was sent."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from kintsugi.common import json_state

_SCHEMA = 1


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
    # Final outcome ("sent" or "rejected") per notification id: never send one twice.
    outcomes: dict[str, str] = field(default_factory=dict)

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

    def to_bytes(self) -> bytes:
        return json_state.dump(self, _SCHEMA)

    @classmethod
    def from_bytes(cls, data: bytes) -> Case:
        return cls(**json_state.load(data, _SCHEMA))


def mask_email(address: str) -> str:
    """Enough to recognise the address in an audit trail, not enough to leak it."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
