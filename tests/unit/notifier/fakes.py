"""In-memory ports for notifier tests."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from kintsugi.common.ids import Cause
from services.notifier.domain.case import Case
from services.notifier.domain.messages import ComposedMessage
from services.notifier.service import Delivery

COMPLAINT_ID = "5f0c6a8e-2b1d-5e7a-9c3f-1a2b3c4d5e6f"


def a_case(**changes: Any) -> Case:
    case = Case(
        complaint_id=COMPLAINT_ID,
        customer_name="Jane Doe",
        channel="email",
        email="jane.doe@example.com",
        phone="+447700900123",
        subject="Card declined",
        regime="uk-fca-disp",
    )
    return replace(case, **changes)


class InMemoryCases:
    def __init__(self, *cases: Case) -> None:
        self.by_complaint = {c.complaint_id: c for c in cases}
        self.saved: list[Case] = []

    def get(self, complaint_id: str) -> Case | None:
        return self.by_complaint.get(complaint_id)

    async def save(self, case: Case) -> None:
        self.saved.append(case)
        self.by_complaint[case.complaint_id] = case

    async def save_now(self, case: Case) -> None:
        await self.save(case)


@dataclass(frozen=True, slots=True)
class SentEmail:
    to: str
    message: ComposedMessage
    notification_id: str
    complaint_id: str


class FakeEmail:
    """``EmailSender`` that records each message, or raises ``failure`` if one is set."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.sent: list[SentEmail] = []
        self.attempts = 0
        self.failure = failure

    def message_id_for(self, notification_id: str) -> str:
        return f"<{notification_id}@kintsugi.test>"

    async def send(
        self, *, to: str, message: ComposedMessage, notification_id: str, complaint_id: str
    ) -> str:
        self.attempts += 1
        if self.failure is not None:
            raise self.failure
        self.sent.append(SentEmail(to, message, notification_id, complaint_id))
        return self.message_id_for(notification_id)


@dataclass(frozen=True, slots=True)
class Failed:
    complaint_id: str
    notification_id: str
    purpose: str
    channel: str
    reason: str
    cause: Cause


class RecordedNotifications:
    """``NotificationEvents`` that keeps what was announced, in order."""

    def __init__(self) -> None:
        self.announced_sent: list[tuple[str, Delivery, Cause]] = []
        self.announced_failed: list[Failed] = []

    async def sent(self, complaint_id: str, delivery: Delivery, cause: Cause) -> None:
        self.announced_sent.append((complaint_id, delivery, cause))

    async def failed(
        self,
        complaint_id: str,
        notification_id: str,
        purpose: str,
        channel: str,
        reason: str,
        cause: Cause,
    ) -> None:
        self.announced_failed.append(
            Failed(complaint_id, notification_id, purpose, channel, reason, cause)
        )
