"""Kafka edges of the notifier: case store, consumed events, published outcomes."""

from __future__ import annotations

from aiokafka import TopicPartition

from kintsugi.common import metrics
from kintsugi.common.codec import Event, event_type, new_event
from kintsugi.common.ids import Cause, derived_id
from kintsugi.common.kafka import EventPublisher, PermanentFailure
from kintsugi.common.logs import get_logger
from kintsugi.common.state_store import CompactedStore
from kintsugi.common.timeutil import Clock
from kintsugi.common.vocabulary import CHANNEL_NAMES, CHANNEL_VALUES, PURPOSE_VALUES
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.events.v1 import notification_pb2 as npb
from services.notifier.domain.case import Case, mask_email
from services.notifier.service import Delivery, Notifier, UnknownComplaint

log = get_logger(__name__)


class StoredCases:
    def __init__(self, store: CompactedStore) -> None:
        self._store = store

    def get(self, complaint_id: str) -> Case | None:
        raw = self._store.get(complaint_id)
        return Case.from_bytes(raw) if raw is not None else None

    async def save(self, case: Case) -> None:
        await self._store.put(case.complaint_id, case.to_bytes())

    async def save_now(self, case: Case) -> None:
        await self._store.put_now(case.complaint_id, case.to_bytes())


class PublishedNotifications:
    def __init__(self, publisher: EventPublisher, clock: Clock) -> None:
        self._publisher = publisher
        self._clock = clock

    async def sent(self, complaint_id: str, delivery: Delivery, cause: Cause) -> None:
        now = self._clock()
        await self._publisher.publish(
            new_event(
                complaint_id=complaint_id,
                producer="notifier",
                event_id=derived_id(delivery.notification_id, "sent"),
                occurred_at=now,
                recorded_at=now,
                causation_id=cause.event_id,
                correlation_id=cause.correlation_id,
                payload=npb.NotificationSent(
                    notification_id=delivery.notification_id,
                    purpose=PURPOSE_VALUES[delivery.purpose],
                    channel=pb.CHANNEL_EMAIL,
                    recipient_masked=mask_email(delivery.recipient),
                    provider_message_id=delivery.provider_message_id,
                    signed_by=delivery.signed_by,
                ),
            )
        )
        metrics.NOTIFICATIONS.labels(delivery.purpose, delivery.channel, "sent").inc()

    async def failed(
        self,
        complaint_id: str,
        notification_id: str,
        purpose: str,
        channel: str,
        reason: str,
        cause: Cause,
    ) -> None:
        now = self._clock()
        await self._publisher.publish(
            new_event(
                complaint_id=complaint_id,
                producer="notifier",
                event_id=derived_id(notification_id, "failed"),
                occurred_at=now,
                recorded_at=now,
                causation_id=cause.event_id,
                correlation_id=cause.correlation_id,
                payload=npb.NotificationFailed(
                    notification_id=notification_id,
                    purpose=PURPOSE_VALUES[purpose],
                    channel=CHANNEL_VALUES.get(channel, pb.CHANNEL_UNSPECIFIED),
                    reason=reason,
                    retryable=False,
                    attempt=1,
                ),
            )
        )
        metrics.NOTIFICATIONS.labels(purpose, channel, "failed").inc()
        log.warning("notification_failed", complaint_id=complaint_id, reason=reason)


def case_from_received(event: Event) -> Case:
    r = event.received
    return Case(
        complaint_id=event.complaint_id,
        customer_name=r.customer.display_name,
        channel=CHANNEL_NAMES.get(r.channel, "unknown"),
        email=r.customer.email,
        phone=r.customer.phone,
        social_handle=r.customer.social_handle,
        language=r.customer.preferred_language or "en",
        subject=r.subject,
    )


class NotifierEventHandler:
    event_types = frozenset({"received", "classified", "assigned"})

    def __init__(self, notifier: Notifier, store: CompactedStore) -> None:
        self._notifier = notifier
        self._store = store

    async def __call__(self, event: Event) -> None:
        kind = event_type(event)
        cause = Cause(event.event_id, event.correlation_id)
        if kind == "received":
            await self._notifier.remember(case_from_received(event))
        elif kind == "classified":
            classified = event.classified
            await self._notifier.note_classification(
                event.complaint_id, classified.regime, classified.category
            )
        elif kind == "assigned":
            try:
                delivery = await self._notifier.acknowledge(
                    event.complaint_id,
                    event.assigned.handler_name,
                    event.assigned.team_name,
                    cause,
                )
            except UnknownComplaint as unknown:
                raise PermanentFailure(str(unknown)) from unknown
            if delivery is not None:
                log.info(
                    "acknowledgement_sent",
                    complaint_id=event.complaint_id,
                    message_id=delivery.provider_message_id,
                )

    async def partitions_assigned(self, partitions: set[TopicPartition]) -> None:
        await self._store.restore(tp.partition for tp in partitions)

    async def partitions_revoked(self, partitions: set[TopicPartition]) -> None:
        self._store.forget(tp.partition for tp in partitions)
