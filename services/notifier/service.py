"""Notifier use cases: remember whom to write to; acknowledge each complaint once.

Delivery is at-least-once towards the provider: a crash after the SMTP server accepted a
message but before ``sent`` was recorded sends it again, with the same Message-ID so mail
systems can drop the copy. Everything else is exactly-once by notification id.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from kintsugi.common.ids import Cause, derived_id
from services.notifier.domain.case import Case
from services.notifier.domain.messages import ComposedMessage, MessageComposer

ACKNOWLEDGEMENT = "acknowledgement"


@dataclass(frozen=True, slots=True)
class Delivery:
    notification_id: str
    purpose: str
    channel: str
    recipient: str
    provider_message_id: str
    signed_by: str


class DeliveryRejected(Exception):
    """The provider refused the message for good (e.g. unknown mailbox): do not retry."""


class CaseStore(Protocol):
    def get(self, complaint_id: str) -> Case | None: ...
    async def save(self, case: Case) -> None: ...
    async def save_now(self, case: Case) -> None:
        """Durable on return: records what has already left the system (a sent message)."""
        ...


class EmailSender(Protocol):
    def message_id_for(self, notification_id: str) -> str: ...
    async def send(
        self, *, to: str, message: ComposedMessage, notification_id: str, complaint_id: str
    ) -> str: ...


class NotificationEvents(Protocol):
    async def sent(self, complaint_id: str, delivery: Delivery, cause: Cause) -> None: ...
    async def failed(
        self,
        complaint_id: str,
        notification_id: str,
        purpose: str,
        channel: str,
        reason: str,
        cause: Cause,
    ) -> None: ...


class UnknownComplaint(LookupError):
    pass


class Notifier:
    def __init__(
        self,
        store: CaseStore,
        email: EmailSender,
        events: NotificationEvents,
        composer: MessageComposer,
    ) -> None:
        self._store = store
        self._email = email
        self._events = events
        self._composer = composer

    async def remember(self, case: Case) -> None:
        if self._store.get(case.complaint_id) is None:
            await self._store.save(case)

    async def note_classification(self, complaint_id: str, regime: str, category: str) -> None:
        """Regime and category decide what we promise the customer in the acknowledgement."""
        case = self._store.get(complaint_id)
        if case is not None and (case.regime, case.category) != (regime, category):
            await self._store.save(replace(case, regime=regime, category=category))

    async def acknowledge(
        self, complaint_id: str, handler_name: str, team_name: str, cause: Cause
    ) -> Delivery | None:
        case = self._store.get(complaint_id)
        if case is None:
            raise UnknownComplaint(f"no received event seen for complaint {complaint_id}")
        if not case.handler_name:
            case = case.with_handler(handler_name, team_name)
            await self._store.save(case)
        notification_id = derived_id(complaint_id, "notification", ACKNOWLEDGEMENT)
        message = self._composer.acknowledgement(case)
        if case.channel not in ("email", "web_form"):
            # Only email has a sender yet; say so on the timeline rather than go quiet.
            await self._events.failed(
                complaint_id,
                notification_id,
                ACKNOWLEDGEMENT,
                case.channel,
                f"no sender for channel '{case.channel}' yet",
                cause,
            )
            return None
        delivery = Delivery(
            notification_id=notification_id,
            purpose=ACKNOWLEDGEMENT,
            channel="email",
            recipient=case.email,
            provider_message_id=self._email.message_id_for(notification_id),
            signed_by=message.signed_by,
        )
        outcome = case.outcome(notification_id)
        if outcome == "rejected":
            return None
        if outcome is None:
            try:
                await self._email.send(
                    to=case.email,
                    message=message,
                    notification_id=notification_id,
                    complaint_id=complaint_id,
                )
            except DeliveryRejected as rejected:
                await self._events.failed(
                    complaint_id, notification_id, ACKNOWLEDGEMENT, "email", str(rejected), cause
                )
                await self._store.save_now(case.with_outcome(notification_id, "rejected"))
                return None
            await self._store.save_now(case.with_outcome(notification_id, "sent"))
        # Announced even when already sent: a crash may have come between save and publish;
        # the event id is derived, so consumers see one event however often it is announced.
        await self._events.sent(complaint_id, delivery, cause)
        return delivery
