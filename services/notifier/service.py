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
from services.notifier.domain.daily_cap import CAPPED_PURPOSES, DailyCapTable, UpdateClaim
from services.notifier.domain.delivery import Verdict, as_planned, deferred, failed, opened
from services.notifier.domain.delivery import succeeded as delivery_succeeded
from services.notifier.domain.messages import (
    STAFF_SIGNATURE,
    ComposedMessage,
    MessageComposer,
    MessageTooLong,
    locale_for,
    zone_for,
)
from services.notifier.domain.planner import (
    ACKNOWLEDGEMENT,
    Assigned,
    NoteRecorded,
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
from services.notifier.domain.review import (
    HELD_FOR_REVIEW,
    HELD_SINCE,
    RELEASE_AT,
    ExecutiveReview,
    held_since,
    is_held_for_review,
)
from services.notifier.domain.staff import STAFF_EMAIL, STAFF_ID, is_staff

__all__ = [
    "ACKNOWLEDGEMENT",
    "Backlog",
    "Delivery",
    "Hold",
    "Notifier",
    "RetriesFailed",
    "UnknownComplaint",
]

Clock = Callable[[], datetime]


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


@dataclass(frozen=True, slots=True)
class Hold:
    """A response held for the executive office's review, from when it would have gone."""

    notification_id: str
    purpose: str
    channel: str
    language: str
    release_at: datetime


class RetriesFailed(Exception):
    """Some complaints' pending messages could not be tried; they stay due."""

    def __init__(self, tried: int, failures: Mapping[str, Exception]) -> None:
        super().__init__(f"{len(failures)} of {tried} due complaints failed their retry")
        self.tried = tried
        self.failures = dict(failures)


@dataclass(frozen=True, slots=True)
class Backlog:
    """What waits on this worker, for the gauges."""

    # Complaints with a message waiting for its next attempt (or its sending window).
    retrying: int
    # How long the longest-waiting of those messages has waited since its first attempt.
    oldest_retry: timedelta | None
    # Responses held for the executive office, and how long the oldest hold has lasted.
    held_for_review: int
    oldest_hold: timedelta | None


@dataclass(frozen=True, slots=True)
class _Waiting:
    """One complaint's share of the backlog, kept as its ledger changes."""

    first_tried: datetime | None  # earliest first attempt among messages to try again
    retrying: bool
    holds: tuple[datetime | None, ...]  # when each response held for review began waiting


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
    async def held_for_review(self, complaint_id: str, hold: Hold, cause: Cause) -> None: ...


class UpdateAllowance(Protocol):
    """The per-customer daily cap's verdict on a progress update: None to send it now,
    else when to ask again. Asking again for the same notification is idempotent."""

    async def admit(self, claim: UpdateClaim) -> datetime | None: ...


class LocalAllowance:
    """The cap decided in this process alone: for tests and a single replica."""

    def __init__(self, table: DailyCapTable) -> None:
        self._table = table

    async def admit(self, claim: UpdateClaim) -> datetime | None:
        return self._table.apply(claim)


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
        review: ExecutiveReview | None = None,
        allowance: UpdateAllowance | None = None,
    ) -> None:
        self._allowance = allowance or LocalAllowance(DailyCapTable(limit=3))
        self._window = window or SendingWindow()
        self._review = review or ExecutiveReview()
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
        # Earliest pending attempt per complaint, so the timer need not read every case,
        # and what each complaint has waiting, so the gauges need not either.
        self._due: dict[str, datetime] = {}
        self._waiting: dict[str, _Waiting] = {}

    # ---- facts about the complaint ---------------------------------------------------

    async def remember(self, case: Case) -> None:
        if self._store.get(case.complaint_id) is None:
            await self._store.save(case)

    async def note_classification(self, complaint_id: str, regime: str, category: str) -> None:
        """Regime and category decide what we promise the customer in the acknowledgement."""
        case = self._store.get(complaint_id)
        if case is not None and (case.regime, case.category) != (regime, category):
            await self._store.save(replace(case, regime=regime, category=category))

    async def note_deadlines(self, complaint_id: str, deadlines: Mapping[str, datetime]) -> None:
        """Regulatory response deadlines by clock kind (from the sla's started clocks): what
        a response held for executive review must still meet."""
        case = self._store.get(complaint_id)
        if case is None or not deadlines:
            return
        known = {kind: datetime.fromisoformat(at) for kind, at in case.deadlines.items()}
        for kind, at in deadlines.items():
            known[kind] = min(at, known[kind]) if kind in known else at
        merged = {kind: at.isoformat() for kind, at in known.items()}
        if merged != case.deadlines:
            await self._store.save(replace(case, deadlines=merged))

    def reindex(self) -> None:
        """After partitions are restored: find the pending deliveries they hold."""
        self._due = {}
        self._waiting = {}
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
            if isinstance(trigger, Assigned) and trigger.executive_review > case.executive_review:
                case = replace(case, executive_review=True)
                await self._store.save(case)
            if isinstance(trigger, NoteRecorded) and self._review.approves(trigger.actor_id):
                return await self._approved(case)
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

    async def _approved(self, case: Case) -> list[Delivery]:
        """The executive office approved: what it held goes out now, the rest unheld."""
        if not case.review_approved:
            case = replace(case, review_approved=True)
            await self._store.save(case)
        deliveries = []
        for notification_id, entry in case.pending().items():
            if entry.reason != HELD_FOR_REVIEW:
                continue
            cause = Cause(entry.cause_event_id, entry.correlation_id)
            planned = as_planned(notification_id, entry)
            case, delivery = await self._deliver(case, planned, cause, retrying=True)
            if delivery is not None:
                deliveries.append(delivery)
        self._track(case)
        return deliveries

    async def retry_due(self) -> int:
        """Try every pending delivery whose time has come; return how many were tried.

        One complaint's failure (its announcement refused while the broker is away) does
        not stop the others: each is tried, the failed ones stay due for the next pass, and
        ``RetriesFailed`` names them afterwards."""
        now = self._clock()
        due = [complaint for complaint, at in self._due.items() if at <= now]
        failures: dict[str, Exception] = {}

        async def retry(complaint_id: str) -> None:
            async with self._retry_room:
                try:
                    await self._retry(complaint_id)
                except Exception as error:
                    failures[complaint_id] = error

        async with asyncio.TaskGroup() as tasks:
            for complaint_id in due:
                tasks.create_task(retry(complaint_id))
        if failures:
            raise RetriesFailed(len(due), failures)
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
        held = self._window.hold_until(planned.purpose, zone_for(case), now)
        if held is None and planned.purpose in CAPPED_PURPOSES:
            customer = case.customer_key or case.complaint_id
            held = await self._allowance.admit(UpdateClaim(customer, nid, now))
        if held is not None:
            reason = "held for the customer's quiet hours or daily cap"
            return await self._hold(case, nid, entry, reason, held), None
        release = self._review.release_at(case, planned.purpose, entry.facts, now)
        if release is not None:
            # Until the executive office approves, or the margin before the deadline.
            if RELEASE_AT not in entry.facts:  # the hold begins: the timeline hears once
                route = self._route(case, planned, entry)
                channel = route.channel if route is not None else case.channel
                hold = Hold(nid, planned.purpose, channel, locale_for(case), release)
                await self._events.held_for_review(case.complaint_id, hold, cause)
                facts = {RELEASE_AT: release.isoformat(), HELD_SINCE: now.isoformat()}
                entry = replace(entry, facts={**entry.facts, **facts})
            return await self._hold(case, nid, entry, HELD_FOR_REVIEW, release), None
        while True:
            route = self._route(case, planned, entry)
            if route is None:
                return await self._give_up(case, nid, entry, self._unroutable(planned), cause)
            case, entry, outcome = await self._attempt(case, planned, entry, route, cause)
            if outcome is not Verdict.FALLBACK:
                return case, self._delivery_of(
                    case, planned, entry
                ) if outcome is Verdict.SENT else None

    async def _hold(
        self, case: Case, nid: str, entry: LedgerEntry, reason: str, until: datetime
    ) -> Case:
        """Pending until ``until``, durably, like a retry; holding is not trying, so the
        retry horizon starts only once it is tried."""
        entry = deferred(entry, reason=reason, retry_at=until, now=self._clock())
        case = case.with_entry(nid, replace(entry, first_tried_at=""))
        await self._store.save(case)
        self._track(case)
        return case

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
            return self._composer.compose_staff(case, planned)
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
        delivery = Delivery(
            nid, planned.purpose, route.channel, route.recipient, provider_id, message.signed_by
        )
        # Announced before it is recorded sent: on the retry timer (no batch, no replay)
        # an announcement the broker refuses leaves the message due, and the next pass
        # sends it again under the same Message-ID and announces it. In a consumer batch
        # the announcement waits for the flush anyway, and a replay announces a message
        # recorded sent (decision 7).
        await self._events.sent(case.complaint_id, delivery, cause)
        await self._store.save_now(case)
        self._track(case)
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
        await self._store.save(case)  # after the announcement, as for a message sent
        self._track(case)
        if step.verdict is Verdict.GIVEN_UP:
            case = await self._alert_owner(case, nid, entry.purpose, failure.reason, cause)
        return case, step.entry, step.verdict

    async def _give_up(
        self, case: Case, nid: str, entry: LedgerEntry, reason: str, cause: Cause
    ) -> tuple[Case, None]:
        entry = replace(entry, status=FAILED, reason=reason, next_attempt_at="")
        case = case.with_entry(nid, entry)
        channel = "email" if is_staff(entry.purpose) else case.channel
        failure = Failure(nid, entry.purpose, channel, reason, entry.attempts, None, "")
        await self._events.failed(case.complaint_id, failure, cause)
        await self._store.save(case)  # after the announcement, as for a message sent
        self._track(case)
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
            self._waiting.pop(case.complaint_id, None)
            return
        self._due[case.complaint_id] = due
        pending = case.pending().values()
        holds = tuple(held_since(entry) for entry in pending if is_held_for_review(entry))
        others = [entry for entry in pending if not is_held_for_review(entry)]
        tried = [at for at in (entry.first_tried for entry in others) if at is not None]
        self._waiting[case.complaint_id] = _Waiting(min(tried, default=None), bool(others), holds)

    def _pull_forward(self) -> None:
        """A provider is back: everything waiting goes out on the next round, not after
        its backoff (a 10-minute outage must not mean 10 more minutes of waiting)."""
        now = self._clock()
        self._due = {complaint_id: min(at, now) for complaint_id, at in self._due.items()}

    def _lock(self, complaint_id: str) -> asyncio.Lock:
        return self._locks[zlib.crc32(complaint_id.encode()) % len(self._locks)]

    def backlog(self) -> Backlog:
        """What waits on this worker: messages to try again, responses held for review."""
        now = self._clock()
        waiting = self._waiting.values()
        tried = [w.first_tried for w in waiting if w.first_tried is not None]
        holds = [since for w in waiting for since in w.holds]
        began = [since for since in holds if since is not None]
        return Backlog(
            retrying=sum(1 for w in waiting if w.retrying),
            oldest_retry=now - min(tried) if tried else None,
            held_for_review=len(holds),
            oldest_hold=now - min(began) if began else None,
        )
