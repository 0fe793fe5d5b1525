"""Kafka edges of the notifier: case store, consumed events, published outcomes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from aiokafka import TopicPartition
from google.protobuf.message import Message

from kintsugi.common import metrics
from kintsugi.common.codec import Event, event_type, new_event
from kintsugi.common.ids import Cause, derived_id
from kintsugi.common.kafka import EventPublisher, PermanentFailure
from kintsugi.common.logs import get_logger
from kintsugi.common.state_store import CompactedStore
from kintsugi.common.stored_state import unreadable
from kintsugi.common.timeutil import Clock, from_timestamp, to_timestamp
from kintsugi.common.vocabulary import CHANNEL_NAMES, CHANNEL_VALUES, PURPOSE_VALUES
from kintsugi.events.v1 import clock_pb2 as cpb
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.events.v1 import notification_pb2 as npb
from services.notifier.domain.case import Case, mask_recipient
from services.notifier.domain.messages import form_for, template_name
from services.notifier.domain.planner import (
    CUSTOMER_FACING_KINDS,
    Assigned,
    ClockInfo,
    DeadlineWarning,
    NoteRecorded,
    Resolved,
    Trigger,
    UpdateDue,
)
from services.notifier.domain.staff import CallRequested, Escalated, is_staff
from services.notifier.service import Delivery, Failure, Hold, Notifier, UnknownComplaint

log = get_logger(__name__)

# The store named in logs, metrics and dead letters about an unreadable case.
STORE = "notifier_cases"
# What ``Case.from_bytes`` raises on bytes it cannot read (found by fuzzing it with damaged
# cases, tests/fuzz/test_stored_state.py): bad JSON, UTF-8 or schema, and fields that are
# missing, unknown or of the wrong type.
UNREADABLE = (ValueError, TypeError)


class StoredCases:
    def __init__(self, store: CompactedStore) -> None:
        self._store = store

    def get(self, complaint_id: str) -> Case | None:
        """The complaint's case; ``UnreadableState`` (dead-letters its event at once) when
        what is stored for it cannot be read."""
        raw = self._store.get(complaint_id)
        if raw is None:
            return None
        try:
            return _case_of(complaint_id, raw)
        except UNREADABLE as error:
            raise unreadable(STORE, complaint_id, error) from error

    def all(self) -> Iterator[Case]:
        """Every readable case: one that is not is logged, counted and skipped, so the
        retry pass still finds everyone else's pending messages."""
        for complaint_id, raw in list(self._store.items()):
            try:
                case = _case_of(complaint_id, raw)
            except UNREADABLE as error:
                unreadable(STORE, complaint_id, error)
                continue
            yield case

    async def save(self, case: Case) -> None:
        await self._store.put(case.complaint_id, case.to_bytes())

    async def save_now(self, case: Case) -> None:
        await self._store.put_now(case.complaint_id, case.to_bytes())


def _case_of(complaint_id: str, raw: bytes) -> Case:
    case = Case.from_bytes(raw)
    if case.complaint_id != complaint_id:  # it would write to another complaint's customer
        raise ValueError("the case names another complaint")
    return case


class PublishedNotifications:
    def __init__(self, publisher: EventPublisher, clock: Clock) -> None:
        self._publisher = publisher
        self._clock = clock

    async def sent(self, complaint_id: str, delivery: Delivery, cause: Cause) -> None:
        if is_staff(delivery.purpose):
            # Not customer contact: the timeline (and the sla's cadence) must not see it.
            metrics.NOTIFICATIONS.labels(delivery.purpose, delivery.channel, "sent").inc()
            log.info(
                "staff_notification_sent",
                complaint_id=complaint_id,
                purpose=delivery.purpose,
                recipient=mask_recipient(delivery.channel, delivery.recipient),
            )
            return
        await self._announce(
            complaint_id,
            derived_id(delivery.notification_id, "sent"),
            cause,
            npb.NotificationSent(
                notification_id=delivery.notification_id,
                purpose=PURPOSE_VALUES[delivery.purpose],
                channel=CHANNEL_VALUES.get(delivery.channel, pb.CHANNEL_UNSPECIFIED),
                recipient_masked=mask_recipient(delivery.channel, delivery.recipient),
                provider_message_id=delivery.provider_message_id,
                signed_by=delivery.signed_by,
            ),
        )
        metrics.NOTIFICATIONS.labels(delivery.purpose, delivery.channel, "sent").inc()

    async def failed(self, complaint_id: str, failure: Failure, cause: Cause) -> None:
        if is_staff(failure.purpose):
            # Counted (the notifications-failing alert names the purpose) and logged; the
            # customer's timeline has no purpose for a message to staff.
            outcome = "retrying" if failure.next_attempt_at is not None else "failed"
            metrics.NOTIFICATIONS.labels(failure.purpose, failure.channel, outcome).inc()
            log.warning(
                "staff_notification_failed",
                complaint_id=complaint_id,
                purpose=failure.purpose,
                reason=failure.reason,
                retry_at=failure.next_attempt_at.isoformat() if failure.next_attempt_at else None,
            )
            return
        payload = npb.NotificationFailed(
            notification_id=failure.notification_id,
            purpose=PURPOSE_VALUES[failure.purpose],
            channel=CHANNEL_VALUES.get(failure.channel, pb.CHANNEL_UNSPECIFIED),
            reason=failure.reason,
            retryable=failure.next_attempt_at is not None,
            attempt=failure.attempt,
            fallback_channel=CHANNEL_VALUES.get(failure.fallback_channel, pb.CHANNEL_UNSPECIFIED),
        )
        if failure.next_attempt_at is not None:
            payload.next_attempt_at.CopyFrom(to_timestamp(failure.next_attempt_at))
        await self._announce(
            complaint_id,
            derived_id(failure.notification_id, "failed", str(failure.attempt), failure.channel),
            cause,
            payload,
        )
        outcome = "retrying" if failure.next_attempt_at is not None else "failed"
        metrics.NOTIFICATIONS.labels(failure.purpose, failure.channel, outcome).inc()
        log.warning(
            "notification_failed",
            complaint_id=complaint_id,
            purpose=failure.purpose,
            channel=failure.channel,
            reason=failure.reason,
            retry_at=failure.next_attempt_at.isoformat() if failure.next_attempt_at else None,
            fallback=failure.fallback_channel or None,
        )

    async def held_for_review(self, complaint_id: str, hold: Hold, cause: Cause) -> None:
        """The timeline says the response exists and waits for the executive office
        (``NotificationRequested`` with ``requires_executive_review``); the release time
        is in the log line, the ledger and the gauges."""
        await self._announce(
            complaint_id,
            derived_id(hold.notification_id, "held-for-review"),
            cause,
            npb.NotificationRequested(
                notification_id=hold.notification_id,
                purpose=PURPOSE_VALUES[hold.purpose],
                channel=CHANNEL_VALUES.get(hold.channel, pb.CHANNEL_UNSPECIFIED),
                template_id=template_name(hold.language, hold.purpose, form_for(hold.channel)),
                language=hold.language,
                requires_executive_review=True,
            ),
        )
        log.info(
            "response_held_for_review",
            complaint_id=complaint_id,
            purpose=hold.purpose,
            release_at=hold.release_at.isoformat(),
        )

    async def _announce(
        self, complaint_id: str, event_id: str, cause: Cause, payload: Message
    ) -> None:
        """One event on the complaint's timeline, caused by ``cause``, at the clock's now."""
        now = self._clock()
        await self._publisher.publish(
            new_event(
                complaint_id=complaint_id,
                producer="notifier",
                event_id=event_id,
                occurred_at=now,
                recorded_at=now,
                causation_id=cause.event_id,
                correlation_id=cause.correlation_id,
                payload=payload,
            )
        )


def customer_key(customer: pb.Customer) -> str:
    """Who the customer is across complaints, as a derived id (the claims log must not
    carry contact details): the upstream customer id, else the contact they wrote from."""
    if customer.customer_id:
        return derived_id("customer", customer.customer_id)
    contact = customer.email.strip().lower() or customer.phone or customer.social_handle
    return derived_id("customer-contact", contact) if contact else ""


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
        customer_key=customer_key(r.customer),
    )


def _clock_info(ref: cpb.ClockRef) -> ClockInfo:
    return ClockInfo(ref.clock_id, ref.clock_kind, ref.cycle, ref.regulatory)


def _reasons(reasons: Iterable[pb.Reason]) -> tuple[str, ...]:
    return tuple(reason.detail or reason.code for reason in reasons)


def trigger_of(event: Event) -> Trigger | None:
    """The notifier trigger an event stands for, if any."""
    match event_type(event):
        case "assigned":
            assigned = event.assigned
            return Assigned(
                assigned.handler_name,
                assigned.team_name,
                assigned.handler_id,
                executive_review=assigned.executive_review,
            )
        case "queued":
            # Nobody has room yet: the customer is still acknowledged at once (rule 2),
            # signed by the team; the owner signs what follows once one is assigned.
            return Assigned("", event.queued.team_name)
        case "customer_update_due":
            due = event.customer_update_due
            return UpdateDue(
                _clock_info(due.clock), from_timestamp(due.due_at), from_timestamp(due.update_by)
            )
        case "clock_warning":
            warning = event.clock_warning
            return DeadlineWarning(
                _clock_info(warning.clock),
                warning.threshold_percent,
                from_timestamp(warning.due_at),
            )
        case "escalated":
            escalated = event.escalated
            return Escalated(
                event.event_id,
                escalated.level,
                escalated.to_handler_id,
                escalated.to_name,
                _reasons(escalated.reasons),
            )
        case "call_requested":
            call = event.call_requested
            return CallRequested(
                event.event_id, call.handler_id, call.handler_name, _reasons(call.reasons)
            )
        case "activity" if (
            event.activity.kind == pb.ACTIVITY_KIND_STATUS_CHANGE
            and event.activity.new_status == pb.STATUS_RESOLVED
        ):
            return Resolved(event.event_id, from_timestamp(event.occurred_at))
        case "activity" if event.activity.kind == pb.ACTIVITY_KIND_NOTE:
            return NoteRecorded(event.event_id, event.activity.actor_id)
    return None


def response_deadlines(event: Event) -> dict[str, datetime]:
    """Regulatory deadlines by clock kind from the sla's started clocks (earliest per kind)."""
    if event_type(event) == "clocks_started":
        started = list(event.clocks_started.clocks)
    elif event_type(event) == "clock_started":  # written by versions before ClocksStarted
        started = [event.clock_started]
    else:
        return {}
    deadlines: dict[str, datetime] = {}
    for clock in started:
        if clock.clock.regulatory and clock.clock.clock_kind in CUSTOMER_FACING_KINDS:
            due = from_timestamp(clock.due_at)
            kind = clock.clock.clock_kind
            deadlines[kind] = min(due, deadlines[kind]) if kind in deadlines else due
    return deadlines


class NotifierEventHandler:
    event_types = frozenset(
        {
            "received",
            "classified",
            "assigned",
            "queued",
            "customer_update_due",
            "clock_warning",
            "activity",
            "escalated",
            "call_requested",
            "clocks_started",
            "clock_started",
        }
    )

    def __init__(self, notifier: Notifier, store: CompactedStore) -> None:
        self._notifier = notifier
        self._store = store

    async def __call__(self, event: Event) -> None:
        kind = event_type(event)
        if kind == "received":
            await self._notifier.remember(case_from_received(event))
            return
        if kind == "classified":
            classified = event.classified
            await self._notifier.note_classification(
                event.complaint_id, classified.regime, classified.category
            )
            return
        if kind in ("clocks_started", "clock_started"):
            await self._notifier.note_deadlines(event.complaint_id, response_deadlines(event))
            return
        trigger = trigger_of(event)
        if trigger is None:
            return
        cause = Cause(event.event_id, event.correlation_id)
        try:
            deliveries = await self._notifier.handle(event.complaint_id, trigger, cause)
        except UnknownComplaint as unknown:
            raise PermanentFailure(str(unknown)) from unknown
        for delivery in deliveries:
            log.info(
                "notification_sent",
                complaint_id=event.complaint_id,
                purpose=delivery.purpose,
                channel=delivery.channel,
                message_id=delivery.provider_message_id,
            )

    async def partitions_assigned(self, partitions: set[TopicPartition]) -> None:
        await self._store.restore(tp.partition for tp in partitions)
        self._notifier.reindex()

    async def partitions_revoked(self, partitions: set[TopicPartition]) -> None:
        self._store.forget(tp.partition for tp in partitions)
        self._notifier.reindex()
