"""Notifier use cases: plan what each event asks the customer to be told, send it once.

For every trigger the planner names the messages (deterministic ids); the ledger on the
case lets each out once. A send that fails for a while is kept pending with its next
attempt time in the case's durable state, and ``retry_due`` - run on a timer, not only
when events arrive - tries it again. A channel that fails for good hands over to its
fallback; when nothing is left the timeline gets ``notification_failed`` for a person.

Delivery is at-least-once towards the provider: a crash after the provider accepted a
message but before ``sent`` was recorded sends it again, with the same Message-ID or
idempotency key, so the window is one provider round trip.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from kintsugi.common.ids import Cause
from services.notifier.domain.breaker import CircuitBreakers
from services.notifier.domain.case import FAILED, SENT, Case, LedgerEntry
from services.notifier.domain.channels import Route, choose_route, public_route, recipient_for
from services.notifier.domain.delivery import Verdict, as_planned, deferred, failed, opened
from services.notifier.domain.delivery import succeeded as delivery_succeeded
from services.notifier.domain.messages import (
    ComposedMessage,
    MessageComposer,
    MessageTooLong,
    zone_for,
)
from services.notifier.domain.planner import (
    ACKNOWLEDGEMENT,
    Assigned,
    Planned,
    PlanRules,
    Resolved,
    Trigger,
    plan,
    plan_owner_alert,
)
from services.notifier.domain.quiet import SendingWindow
from services.notifier.domain.retry import (
    DeliveryFailure,
    FailureKind,
    RetrySchedule,
    permanent,
    transient,
)
from services.notifier.domain.staff import STAFF_EMAIL, STAFF_ID, compose_staff, is_staff

__all__ = ["ACKNOWLEDGEMENT", "Delivery", "Notifier", "UnknownComplaint"]

Clock = Callable[[], datetime]

# Staff messages come from the system, not from a complaint handler.
STAFF_SIGNATURE = "Kintsugi"


@dataclass(frozen=True, slots=True)
class Delivery:
    notification_id: str
    purpose: str
    channel: str
    recipient: str
    provider_message_id: str
    signed_by: str


@dataclass(frozen=True, slots=True)
class Failure:
    notification_id: str
    purpose: str
    channel: str
    reason: str
    attempt: int
    # Retryable: a later attempt is scheduled at ``next_attempt_at``.
    next_attempt_at: datetime | None
    fallback_channel: str


class CaseStore(Protocol):
    def get(self, complaint_id: str) -> Case | None: ...
    def all(self) -> Iterable[Case]: ...
    async def save(self, case: Case) -> None: ...
    async def save_now(self, case: Case) -> None:
        """Durable on return: records what has already left the system (a sent message)."""
        ...


class Sender(Protocol):
    """One channel's provider. ``send`` raises ``DeliveryFailure`` (or times out)."""

    channel: str

    def destination(self, recipient: str) -> str:
        """Whose health a failure says something about (the relay, the gateway)."""
        ...

    def provider_message_id(self, notification_id: str) -> str: ...

    async def send(
        self, *, recipient: str, message: ComposedMessage, notification_id: str, complaint_id: str
    ) -> str: ...


class NotificationEvents(Protocol):
    async def sent(self, complaint_id: str, delivery: Delivery, cause: Cause) -> None: ...
    async def failed(self, complaint_id: str, failure: Failure, cause: Cause) -> None: ...


class UnknownComplaint(LookupError):
    pass


class Notifier:
    def __init__(
        self,
        store: CaseStore,
        senders: Mapping[str, Sender],
        events: NotificationEvents,
        composer: MessageComposer,
        clock: Clock,
        *,
        schedule: RetrySchedule | None = None,
        breakers: CircuitBreakers | None = None,
        rules: PlanRules | None = None,
        attempt_timeout_s: float = 10.0,
        retry_concurrency: int = 50,
        window: SendingWindow | None = None,
    ) -> None:
        self._window = window or SendingWindow()
        self._store = store
        self._senders = dict(senders)
        self._events = events
        self._composer = composer
        self._clock = clock
        self._schedule = schedule or RetrySchedule()
        self.breakers = breakers or CircuitBreakers()
        self._rules = rules or PlanRules()
        self._attempt_timeout_s = attempt_timeout_s
        self._retry_room = asyncio.Semaphore(retry_concurrency)
        # The consumer and the retry timer may touch one complaint at once: one lock
        # stripe per complaint keeps its ledger updates in order.
        self._locks = [asyncio.Lock() for _ in range(256)]
        # Earliest pending attempt per complaint, so the timer need not read every case.
        self._due: dict[str, datetime] = {}

    # ---- facts about the complaint ---------------------------------------------------

    async def remember(self, case: Case) -> None:
        if self._store.get(case.complaint_id) is None:
            await self._store.save(case)

    async def note_classification(self, complaint_id: str, regime: str, category: str) -> None:
        """Regime and category decide what we promise the customer in the acknowledgement."""
        case = self._store.get(complaint_id)
        if case is not None and (case.regime, case.category) != (regime, category):
            await self._store.save(replace(case, regime=regime, category=category))

    def reindex(self) -> None:
        """After partitions are restored: find the pending deliveries they hold."""
        self._due = {}
        for case in self._store.all():
            self._track(case)

    @property
    def pending(self) -> dict[str, datetime]:
        return dict(self._due)

    # ---- triggers --------------------------------------------------------------------

    async def acknowledge(
        self, complaint_id: str, handler_name: str, team_name: str, cause: Cause
    ) -> list[Delivery]:
        return await self.handle(complaint_id, Assigned(handler_name, team_name), cause)

    async def handle(self, complaint_id: str, trigger: Trigger, cause: Cause) -> list[Delivery]:
        """Send what ``trigger`` asks for; return what has gone out for it (now or before)."""
        async with self._lock(complaint_id):
            case = self._store.get(complaint_id)
            if case is None:
                raise UnknownComplaint(f"no received event seen for complaint {complaint_id}")
            if isinstance(trigger, Assigned) and not case.handler_name:
                case = case.with_handler(trigger.handler_name, trigger.team_name)
                await self._store.save(case)
            if isinstance(trigger, Assigned) and trigger.handler_id not in ("", case.owner_id):
                case = replace(case, owner_id=trigger.handler_id, owner_name=trigger.handler_name)
                await self._store.save(case)
            planned = plan(case, trigger, self._rules)
            if isinstance(trigger, Resolved) and not case.resolved:
                case = replace(case, resolved=True)
                await self._store.save(case)
            deliveries = []
            for message in planned:
                case, delivery = await self._deliver(case, message, cause)
                if delivery is not None:
                    deliveries.append(delivery)
            return deliveries

    async def retry_due(self) -> int:
        """Try every pending delivery whose time has come; return how many were tried."""
        now = self._clock()
        due = [complaint for complaint, at in self._due.items() if at <= now]

        async def retry(complaint_id: str) -> None:
            async with self._retry_room:
                await self._retry(complaint_id)

        async with asyncio.TaskGroup() as tasks:
            for complaint_id in due:
                tasks.create_task(retry(complaint_id))
        return len(due)

    async def _retry(self, complaint_id: str) -> None:
        async with self._lock(complaint_id):
            case = self._store.get(complaint_id)
            if case is None:  # the partition moved to another worker
                self._due.pop(complaint_id, None)
                return
            # The complaint is due (its earliest attempt, or a provider came back): its few
            # pending messages are tried together.
            for notification_id, entry in case.pending().items():
                cause = Cause(entry.cause_event_id, entry.correlation_id)
                planned = as_planned(notification_id, entry)
                case, _ = await self._deliver(case, planned, cause, retrying=True)
            self._track(case)

    # ---- one message -----------------------------------------------------------------

    async def _deliver(
        self, case: Case, planned: Planned, cause: Cause, *, retrying: bool = False
    ) -> tuple[Case, Delivery | None]:
        nid = planned.notification_id
        entry = case.entry(nid) or opened(planned, cause.event_id, cause.correlation_id)
        if entry.status == SENT:
            # Announced again: a crash may have come between recording and announcing;
            # the event id is derived, so the timeline shows it once.
            delivery = self._delivery_of(case, planned, entry)
            if delivery is not None:
                await self._events.sent(case.complaint_id, delivery, cause)
            return case, delivery
        if entry.status == FAILED:
            return case, None
        if entry.due_at is not None and not retrying:
            return case, None  # pending: the retry timer owns it, a replay must not jump it
        now = self._clock()
        held = self._window.hold_until(case, planned.purpose, zone_for(case), now)
        if held is not None:
            # Quiet hours or the daily cap: pending until then, durably, like a retry.
            entry = deferred(
                entry,
                reason="held for the customer's quiet hours or daily cap",
                retry_at=held,
                now=now,
            )
            entry = replace(entry, first_tried_at="")  # holding is not trying: no horizon yet
            case = case.with_entry(nid, entry)
            await self._store.save(case)
            self._track(case)
            return case, None
        while True:
            route = self._route(case, planned, entry)
            if route is None:
                return await self._give_up(case, nid, entry, self._unroutable(planned), cause)
            case, entry, outcome = await self._attempt(case, planned, entry, route, cause)
            if outcome is not Verdict.FALLBACK:
                return case, self._delivery_of(
                    case, planned, entry
                ) if outcome is Verdict.SENT else None

    def _route(self, case: Case, planned: Planned, entry: LedgerEntry) -> Route | None:
        available = set(self._senders) - set(entry.failed_channels)
        if is_staff(planned.purpose):
            # Staff hear by email only, never on the customer's channels.
            address = planned.facts.get(STAFF_EMAIL, "")
            return Route("email", address) if address and "email" in available else None
        if planned.public:
            return public_route(case, available)
        return choose_route(case, available)

    def _unroutable(self, planned: Planned) -> str:
        if not is_staff(planned.purpose):
            return "no channel left to reach the customer"
        if "email" not in self._senders:
            return "staff messages need the email channel, which is not configured"
        staff_id = planned.facts.get(STAFF_ID, "")
        return f"no email for staff member {staff_id!r} in the staff directory"

    def _compose(self, case: Case, planned: Planned, channel: str) -> ComposedMessage:
        if is_staff(planned.purpose):
            text = compose_staff(case, planned.purpose, planned.facts)
            return ComposedMessage(text.subject, text.body, STAFF_SIGNATURE)
        return self._composer.compose(case, planned, channel)

    async def _attempt(
        self, case: Case, planned: Planned, entry: LedgerEntry, route: Route, cause: Cause
    ) -> tuple[Case, LedgerEntry, Verdict | None]:
        nid = planned.notification_id
        sender = self._senders[route.channel]
        destination = sender.destination(route.recipient)
        try:
            message = self._compose(case, planned, route.channel)
        except MessageTooLong as too_long:
            # The words do not fit this channel (a long name in them): the next one takes
            # the message, as after any permanent failure; the provider was never asked.
            failure = permanent(str(too_long))
            return await self._failed(
                case, nid, entry, route, destination, failure, cause, asked=False
            )
        now = self._clock()
        if not self.breakers.allow(destination, now):
            first = entry.first_tried or now
            if now >= first + self._schedule.horizon(entry.purpose):
                reason = f"{destination} kept failing until the retry horizon passed"
                case, _ = await self._give_up(case, nid, entry, reason, cause)
                return case, entry, Verdict.GIVEN_UP
            retry_at = now + self.breakers.cooldown
            entry = deferred(
                entry, reason=f"{destination} is failing; waiting", retry_at=retry_at, now=now
            )
            case = case.with_entry(nid, entry)
            await self._store.save(case)
            self._track(case)
            return case, entry, None
        try:
            async with asyncio.timeout(self._attempt_timeout_s):
                provider_id = await sender.send(
                    recipient=route.recipient,
                    message=message,
                    notification_id=nid,
                    complaint_id=case.complaint_id,
                )
        except DeliveryFailure as failure:
            return await self._failed(case, nid, entry, route, destination, failure, cause)
        except TimeoutError:
            timed_out = transient(
                f"{route.channel} provider did not answer in {self._attempt_timeout_s:g} s"
            )
            return await self._failed(case, nid, entry, route, destination, timed_out, cause)
        except asyncio.CancelledError:
            self.breakers.released(destination)
            raise
        if self.breakers.succeeded(destination):
            self._pull_forward()
        step = delivery_succeeded(entry, route.channel, provider_id, self._clock())
        case = case.with_entry(nid, step.entry)
        await self._store.save_now(case)
        self._track(case)
        delivery = Delivery(
            nid, planned.purpose, route.channel, route.recipient, provider_id, message.signed_by
        )
        await self._events.sent(case.complaint_id, delivery, cause)
        return case, step.entry, Verdict.SENT

    async def _failed(
        self,
        case: Case,
        nid: str,
        entry: LedgerEntry,
        route: Route,
        destination: str,
        failure: DeliveryFailure,
        cause: Cause,
        *,
        asked: bool = True,
    ) -> tuple[Case, LedgerEntry, Verdict]:
        now = self._clock()
        if not asked:
            pass  # the provider was not asked: says nothing of its health
        elif failure.kind is FailureKind.TRANSIENT:
            self.breakers.failed(destination, now, failure.reason)
        else:
            self.breakers.succeeded(destination)  # it answered: it is up
        remaining = set(self._senders) - {*entry.failed_channels, route.channel}
        fallback = None if is_staff(entry.purpose) else choose_route(case, remaining)
        step = failed(
            entry,
            notification_id=nid,
            channel=route.channel,
            failure=failure,
            has_fallback=fallback is not None,
            schedule=self._schedule,
            now=now,
        )
        case = case.with_entry(nid, step.entry)
        await self._store.save(case)
        self._track(case)
        if step.verdict is not Verdict.RETRY_SCHEDULED or step.entry.attempts == 1:
            # The timeline hears of the first delay, of every change of channel and of
            # giving up - not of every one of a day's retries.
            await self._events.failed(
                case.complaint_id,
                Failure(
                    notification_id=nid,
                    purpose=entry.purpose,
                    channel=route.channel,
                    reason=failure.reason,
                    attempt=step.entry.attempts,
                    next_attempt_at=step.entry.due_at
                    if step.verdict is Verdict.RETRY_SCHEDULED
                    else None,
                    fallback_channel=fallback.channel
                    if fallback is not None and step.verdict is Verdict.FALLBACK
                    else "",
                ),
                cause,
            )
        if step.verdict is Verdict.GIVEN_UP:
            case = await self._alert_owner(case, nid, entry.purpose, failure.reason, cause)
        return case, step.entry, step.verdict

    async def _give_up(
        self, case: Case, nid: str, entry: LedgerEntry, reason: str, cause: Cause
    ) -> tuple[Case, None]:
        entry = replace(entry, status=FAILED, reason=reason, next_attempt_at="")
        case = case.with_entry(nid, entry)
        await self._store.save(case)
        self._track(case)
        channel = "email" if is_staff(entry.purpose) else case.channel
        failure = Failure(nid, entry.purpose, channel, reason, entry.attempts, None, "")
        await self._events.failed(case.complaint_id, failure, cause)
        return await self._alert_owner(case, nid, entry.purpose, reason, cause), None

    async def _alert_owner(
        self, case: Case, nid: str, purpose: str, reason: str, cause: Cause
    ) -> Case:
        """A customer message failed for good: its owner hears, once (rule: never silent)."""
        alert = plan_owner_alert(case, nid, purpose, reason, self._rules)
        if alert is None:
            return case
        case, _ = await self._deliver(case, alert, cause)
        return case

    def _delivery_of(self, case: Case, planned: Planned, entry: LedgerEntry) -> Delivery | None:
        if entry.status != SENT or not entry.channel:
            if entry.status == SENT and planned.purpose == ACKNOWLEDGEMENT:
                # Recorded by a version before the ledger: it was an email.
                sender = self._senders.get("email")
                pid = sender.provider_message_id(planned.notification_id) if sender else ""
                return Delivery(
                    planned.notification_id,
                    planned.purpose,
                    "email",
                    case.email,
                    pid,
                    self._composer.signer(case),
                )
            return None
        if is_staff(planned.purpose):
            recipient, signed_by = planned.facts.get(STAFF_EMAIL, ""), STAFF_SIGNATURE
        else:
            recipient = case.social_handle if planned.public else recipient_for(case, entry.channel)
            signed_by = self._composer.signer(case)
        return Delivery(
            planned.notification_id,
            planned.purpose,
            entry.channel,
            recipient,
            entry.provider_message_id,
            signed_by,
        )

    def _track(self, case: Case) -> None:
        due = case.next_retry_at()
        if due is None:
            self._due.pop(case.complaint_id, None)
        else:
            self._due[case.complaint_id] = due

    def _pull_forward(self) -> None:
        """A provider is back: everything waiting goes out on the next round, not after
        its backoff (a 10-minute outage must not mean 10 more minutes of waiting)."""
        now = self._clock()
        self._due = {complaint_id: min(at, now) for complaint_id, at in self._due.items()}

    def _lock(self, complaint_id: str) -> asyncio.Lock:
        return self._locks[zlib.crc32(complaint_id.encode()) % len(self._locks)]

    def oldest_pending(self) -> timedelta | None:
        """How long the longest-waiting pending message has waited (for the gauge)."""
        now = self._clock()
        oldest = None
        for complaint_id in self._due:
            case = self._store.get(complaint_id)
            for entry in case.pending().values() if case else ():
                first = entry.first_tried
                if first is not None and (oldest is None or first < oldest):
                    oldest = first
        return now - oldest if oldest is not None else None
