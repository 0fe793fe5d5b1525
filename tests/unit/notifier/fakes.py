"""In-memory ports for notifier tests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from kintsugi.common.ids import Cause
from services.notifier.domain.case import Case
from services.notifier.domain.messages import ComposedMessage
from services.notifier.domain.retry import DeliveryFailure
from services.notifier.service import Delivery, Failure, Hold

COMPLAINT_ID = "5f0c6a8e-2b1d-5e7a-9c3f-1a2b3c4d5e6f"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


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


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class InMemoryCases:
    def __init__(self, *cases: Case) -> None:
        self.by_complaint = {c.complaint_id: c for c in cases}
        self.saved: list[Case] = []

    def get(self, complaint_id: str) -> Case | None:
        return self.by_complaint.get(complaint_id)

    def all(self) -> Iterable[Case]:
        return list(self.by_complaint.values())

    async def save(self, case: Case) -> None:
        self.saved.append(case)
        self.by_complaint[case.complaint_id] = case

    async def save_now(self, case: Case) -> None:
        await self.save(case)


@dataclass(frozen=True, slots=True)
class Sent:
    recipient: str
    message: ComposedMessage
    notification_id: str
    complaint_id: str


class FakeSender:
    """A channel's provider that records each message, or raises the next queued failure."""

    def __init__(self, channel: str = "email", *failures: DeliveryFailure) -> None:
        self.channel = channel
        self.sent: list[Sent] = []
        self.attempts = 0
        self.failures = list(failures)
        self.always: DeliveryFailure | None = None

    def destination(self, recipient: str) -> str:
        return f"{self.channel}-provider"

    def provider_message_id(self, notification_id: str) -> str:
        return f"<{notification_id}@kintsugi.test>"

    async def send(
        self, *, recipient: str, message: ComposedMessage, notification_id: str, complaint_id: str
    ) -> str:
        self.attempts += 1
        if self.always is not None:
            raise self.always
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(Sent(recipient, message, notification_id, complaint_id))
        return self.provider_message_id(notification_id)


class RecordedNotifications:
    """``NotificationEvents`` that keeps what was announced, in order."""

    def __init__(self) -> None:
        self.announced_sent: list[tuple[str, Delivery, Cause]] = []
        self.announced_failed: list[tuple[str, Failure, Cause]] = []
        self.announced_holds: list[tuple[str, Hold, Cause]] = []

    async def sent(self, complaint_id: str, delivery: Delivery, cause: Cause) -> None:
        self.announced_sent.append((complaint_id, delivery, cause))

    async def failed(self, complaint_id: str, failure: Failure, cause: Cause) -> None:
        self.announced_failed.append((complaint_id, failure, cause))

    async def held_for_review(self, complaint_id: str, hold: Hold, cause: Cause) -> None:
        self.announced_holds.append((complaint_id, hold, cause))

    @property
    def failures(self) -> list[Failure]:
        return [f for _, f, _ in self.announced_failed]
