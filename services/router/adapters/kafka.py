"""Kafka edges of the router: facts in (classified, activity, clock alerts), decisions out."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from aiokafka import TopicPartition

from kintsugi.common import metrics
from kintsugi.common.codec import Event, event_type, new_event
from kintsugi.common.ids import Cause
from kintsugi.common.kafka import EventPublisher
from kintsugi.common.logs import get_logger
from kintsugi.common.state_store import CompactedStore
from kintsugi.common.stored_state import unreadable
from kintsugi.common.timeutil import Clock, from_timestamp
from kintsugi.common.vocabulary import CHANNEL_NAMES, SEVERITY_NAMES
from kintsugi.events.v1 import clock_pb2 as cpb
from kintsugi.events.v1 import complaint_pb2 as pb
from services.router.domain.desk import (
    Activity,
    Assigned,
    CallRequested,
    ClockAlert,
    Decision,
    Escalated,
    Queued,
)
from services.router.domain.records import StoredCase
from services.router.domain.routing import Reason, RoutingRequest
from services.router.service import Router

log = get_logger(__name__)

CLOSING_STATUSES = frozenset({pb.STATUS_RESOLVED, pb.STATUS_CLOSED})
MESSAGES = frozenset({pb.ACTIVITY_KIND_CUSTOMER_MESSAGE, pb.ACTIVITY_KIND_STAFF_MESSAGE})
KINDS = {
    "initial": pb.ASSIGNMENT_KIND_INITIAL,
    "escalation": pb.ASSIGNMENT_KIND_ESCALATION,
    "absence": pb.ASSIGNMENT_KIND_ABSENCE,
    "reroute": pb.ASSIGNMENT_KIND_REROUTE,
}


class StoredCases:
    """``CaseStore`` on a compacted topic keyed by complaint id."""

    def __init__(self, store: CompactedStore) -> None:
        self._store = store

    def all(self) -> Iterable[StoredCase]:
        cases = []
        for key, raw in self._store.items():
            try:
                cases.append(StoredCase.from_bytes(raw))
            except (ValueError, TypeError, KeyError) as error:
                # One unreadable record must not stop the router rebuilding everyone's load.
                unreadable("router_cases", key, error)
        return cases

    async def save(self, stored: StoredCase) -> None:
        await self._store.put(stored.complaint_id, stored.to_bytes())


def _reasons(reasons: Iterable[Reason]) -> list[pb.Reason]:
    return [pb.Reason(code=r.code, detail=r.detail) for r in reasons]


class PublishedDecisions:
    """``DecisionEvents`` on the complaint-events topic."""

    def __init__(self, publisher: EventPublisher, clock: Clock) -> None:
        self._publisher = publisher
        self._clock = clock

    async def announce(self, decision: Decision, cause: Cause) -> None:
        now = self._clock()
        event = new_event(
            complaint_id=decision.complaint_id,
            producer="router",
            event_id=decision.event_id,
            occurred_at=now,
            recorded_at=now,
            causation_id=cause.event_id,
            correlation_id=cause.correlation_id,
            payload=payload(decision),
        )
        await self._publisher.publish(event)
        match decision:
            case Assigned():
                metrics.ASSIGNMENTS.labels(decision.team_id, decision.kind).inc()
                _observe_wait(decision)
            case Escalated():
                metrics.ROUTER_ESCALATIONS.labels(decision.team_id, str(decision.level)).inc()
            case CallRequested():
                metrics.ROUTER_CALL_TASKS.labels(decision.team_id).inc()


def _observe_wait(assigned: Assigned) -> None:
    """Time to assign, and queue wait for those that queued (a first owner only)."""
    if assigned.waited_s is None:
        return
    metrics.ROUTER_TIME_TO_ASSIGN_SECONDS.labels(assigned.team_id).observe(assigned.waited_s)
    if assigned.from_queue:
        metrics.ROUTER_QUEUE_WAIT_SECONDS.labels(assigned.team_id).observe(assigned.waited_s)


def payload(
    decision: Decision,
) -> pb.ComplaintAssigned | pb.ComplaintQueued | cpb.Escalated | pb.CallCustomerRequested:
    match decision:
        case Assigned():
            return pb.ComplaintAssigned(
                team_id=decision.team_id,
                team_name=decision.team_name,
                handler_id=decision.handler_id,
                handler_name=decision.handler_name,
                kind=KINDS[decision.kind],
                previous_handler_id=decision.previous_handler_id,
                reasons=_reasons(decision.reasons),
                executive_review=decision.executive_review,
            )
        case Queued():
            return pb.ComplaintQueued(
                team_id=decision.team_id,
                team_name=decision.team_name,
                position=decision.position,
                reasons=_reasons(decision.reasons),
            )
        case Escalated():
            return cpb.Escalated(
                level=decision.level,
                from_handler_id=decision.from_handler_id,
                to_handler_id=decision.to_id,
                to_name=decision.to_name,
                team_id=decision.team_id,
                clock_id=decision.clock_id,
                reasons=_reasons(decision.reasons),
            )
        case CallRequested():
            return pb.CallCustomerRequested(
                handler_id=decision.handler_id,
                handler_name=decision.handler_name,
                reasons=_reasons(decision.reasons),
            )


def routing_request(event: Event) -> RoutingRequest:
    c = event.classified
    return RoutingRequest(
        complaint_id=event.complaint_id,
        customer_id=c.customer_id,
        category=c.category,
        severity=SEVERITY_NAMES.get(c.severity, "medium"),
        language=c.language or "en",
        vulnerable=c.vulnerable,
        abusive=c.abusive,
        product=c.product,
        regime="" if c.regime == "none" else c.regime,
    )


def activity(event: Event) -> Activity:
    a = event.activity
    return Activity(
        event_id=event.event_id,
        complaint_id=event.complaint_id,
        channel=CHANNEL_NAMES.get(a.channel, ""),
        message=a.kind in MESSAGES,
        resolves=a.new_status in CLOSING_STATUSES,
    )


def clock_alert(event: Event) -> ClockAlert:
    if event_type(event) == "clock_warning":
        warning = event.clock_warning
        ref, threshold, due_at = warning.clock, warning.threshold_percent, warning.due_at
    else:
        ref, threshold, due_at = event.clock_breached.clock, 100, event.clock_breached.due_at
    return ClockAlert(
        event_id=event.event_id,
        complaint_id=event.complaint_id,
        clock_id=ref.clock_id,
        clock_kind=ref.clock_kind,
        regulatory=ref.regulatory,
        cycle=ref.cycle,
        threshold_percent=threshold,
        due_at=from_timestamp(due_at),
        at=from_timestamp(event.occurred_at),
    )


DECIDED_ON = frozenset({"classified", "activity", "clock_warning", "clock_breached"})


class Publisher(Protocol):
    async def publish(self, *events: Event) -> None: ...


class Forwarder:
    """Stage one, on every replica: the events the router decides on, from the
    complaint-events partitions this replica owns, into the single-partition inbox."""

    event_types = DECIDED_ON

    def __init__(self, inbox: Publisher) -> None:
        self._inbox = inbox

    async def __call__(self, event: Event) -> None:
        # Same event id: the decider drops nothing and repeats nothing on a re-forward.
        await self._inbox.publish(event)

    async def partitions_assigned(self, partitions: set[TopicPartition]) -> None:
        return None

    async def partitions_revoked(self, partitions: set[TopicPartition]) -> None:
        return None


class RouterEventHandler:
    """Stage two, on the one replica owning the inbox: decide, with every case in view."""

    event_types = DECIDED_ON

    def __init__(
        self, router: Router, store: CompactedStore, clock: Clock, state_partitions: int
    ) -> None:
        self._router = router
        self._store = store
        self._clock = clock
        self._state_partitions = range(state_partitions)

    async def __call__(self, event: Event) -> None:
        kind = event_type(event)
        cause = Cause(event.event_id, event.correlation_id)
        if kind == "classified":
            decisions = await self._router.classified(
                routing_request(event), cause, self._clock(), from_timestamp(event.occurred_at)
            )
        elif kind == "activity":
            decisions = await self._router.activity(activity(event), cause, self._clock())
        else:
            decisions = await self._router.clock_alert(clock_alert(event), cause)
        for decision in decisions:
            log.info(
                "router_decision",
                decision=type(decision).__name__,
                complaint_id=decision.complaint_id,
                event_id=decision.event_id,
            )

    async def partitions_assigned(self, partitions: set[TopicPartition]) -> None:
        """Owning the inbox means deciding for everyone: restore every state partition."""
        self._store.forget(self._state_partitions)
        if partitions:
            await self._store.restore(self._state_partitions)
        self._router.reload()
        # Load and queues are reported by the replica deciding, and only while it does.
        metrics.ROUTER_DESK.bind(desk_samples(self._router) if partitions else None)

    async def partitions_revoked(self, partitions: set[TopicPartition]) -> None:
        if partitions:
            metrics.ROUTER_DESK.bind(None)
            self._store.forget(self._state_partitions)
            self._router.reload()


def desk_samples(router: Router) -> Callable[[], metrics.ScrapeTimeSamples]:
    """The router's load gauges, counted from its cases at each scrape."""

    def samples() -> metrics.ScrapeTimeSamples:
        teams = router.team_loads()
        return {
            metrics.HANDLER_OPEN_COMPLAINTS: {
                (h.team_id, h.id): count for h, count in router.open_by_handler()
            },
            metrics.ROUTER_QUEUE_DEPTH: {(t.team_id,): t.queued for t in teams},
            metrics.ROUTER_TEAM_UTILISATION: {(t.team_id,): t.utilisation for t in teams},
            metrics.ROUTER_TEAM_CAPACITY_ONLINE: {(t.team_id,): t.capacity_online for t in teams},
        }

    return samples
