"""Kafka edges of the router: consume classified/closed complaints, publish assignments."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import TopicPartition

from kintsugi.common import metrics
from kintsugi.common.codec import Event, event_type, new_event
from kintsugi.common.ids import Cause
from kintsugi.common.kafka import EventPublisher
from kintsugi.common.logs import get_logger
from kintsugi.common.state_store import CompactedStore
from kintsugi.common.timeutil import Clock
from kintsugi.common.vocabulary import SEVERITY_NAMES
from kintsugi.events.v1 import complaint_pb2 as pb
from services.router.domain.assignment import Assignment
from services.router.domain.routing import RoutingRequest
from services.router.service import Router

log = get_logger(__name__)

CLOSING_STATUSES = frozenset({pb.STATUS_RESOLVED, pb.STATUS_CLOSED})


class StoredAssignments:
    """``AssignmentStore`` on a compacted topic."""

    def __init__(self, store: CompactedStore) -> None:
        self._store = store

    def get(self, complaint_id: str) -> Assignment | None:
        raw = self._store.get(complaint_id)
        return Assignment.from_bytes(raw) if raw is not None else None

    def all(self) -> Iterable[Assignment]:
        assignments = []
        for key, raw in self._store.items():
            try:
                assignments.append(Assignment.from_bytes(raw))
            except (ValueError, TypeError, KeyError) as error:
                # One unreadable record must not stop the router rebuilding everyone's load.
                log.error("assignment_state_unreadable", complaint_id=key, error=repr(error))
        return assignments

    async def save(self, assignment: Assignment) -> None:
        await self._store.put(assignment.complaint_id, assignment.to_bytes())


class PublishedAssignments:
    """``AssignmentEvents`` on the complaint-events topic."""

    def __init__(self, publisher: EventPublisher, clock: Clock) -> None:
        self._publisher = publisher
        self._clock = clock

    async def assigned(self, assignment: Assignment, cause: Cause) -> None:
        now = self._clock()
        event = new_event(
            complaint_id=assignment.complaint_id,
            producer="router",
            event_id=assignment.event_id,
            occurred_at=now,
            recorded_at=now,
            causation_id=cause.event_id,
            correlation_id=cause.correlation_id,
            payload=pb.ComplaintAssigned(
                team_id=assignment.team_id,
                team_name=assignment.team_name,
                handler_id=assignment.handler_id,
                handler_name=assignment.handler_name,
                kind=pb.ASSIGNMENT_KIND_INITIAL,
                reasons=[pb.Reason(code=r.code, detail=r.detail) for r in assignment.reasons],
                executive_review=assignment.executive_review,
            ),
        )
        await self._publisher.publish(event)
        metrics.ASSIGNMENTS.labels(assignment.team_id, "initial").inc()


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
    )


class RouterEventHandler:
    event_types = frozenset({"classified", "activity"})

    def __init__(self, router: Router, store: CompactedStore) -> None:
        self._router = router
        self._store = store

    async def __call__(self, event: Event) -> None:
        kind = event_type(event)
        if kind == "classified":
            assignment = await self._router.assign(
                routing_request(event), Cause(event.event_id, event.correlation_id)
            )
            log.info(
                "complaint_assigned",
                complaint_id=event.complaint_id,
                team=assignment.team_id,
                handler=assignment.handler_id,
            )
            self._refresh_load_gauge()
        elif kind == "activity" and event.activity.new_status in CLOSING_STATUSES:
            await self._router.release(event.complaint_id)
            self._refresh_load_gauge()

    async def partitions_assigned(self, partitions: set[TopicPartition]) -> None:
        await self._store.restore(tp.partition for tp in partitions)
        self._router.reload_workload()
        self._refresh_load_gauge()

    async def partitions_revoked(self, partitions: set[TopicPartition]) -> None:
        self._store.forget(tp.partition for tp in partitions)
        self._router.reload_workload()

    def _refresh_load_gauge(self) -> None:
        for handler, count in self._router.load_by_handler():
            metrics.HANDLER_OPEN_COMPLAINTS.labels(handler.team_id, handler.id).set(count)
