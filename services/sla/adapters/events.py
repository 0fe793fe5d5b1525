"""Translation between complaint events (protobuf) and the SLA domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import assert_never

from google.protobuf.message import Message

from kintsugi.common.codec import Event, new_event
from kintsugi.common.ids import derived_id
from kintsugi.common.timeutil import from_timestamp, to_timestamp
from kintsugi.common.vocabulary import CHANNEL_NAMES, PURPOSE_NAMES, SEVERITY_NAMES
from kintsugi.events.v1 import clock_pb2 as cpb
from kintsugi.events.v1 import complaint_pb2 as pb
from services.sla.domain import (
    ClockBreached,
    ClockEvent,
    ClockPaused,
    ClockReset,
    ClockRestarted,
    ClockResumed,
    ClockStarted,
    ClockStopped,
    ClockWarning,
    ComplaintFacts,
    CustomerUpdateDue,
    Milestone,
)

PRODUCER = "sla"

OUTCOMES = {
    "met": cpb.CLOCK_OUTCOME_MET,
    "cancelled": cpb.CLOCK_OUTCOME_CANCELLED,
    "superseded": cpb.CLOCK_OUTCOME_SUPERSEDED,
    "restarted": cpb.CLOCK_OUTCOME_RESTARTED,
    "lapsed": cpb.CLOCK_OUTCOME_LAPSED,
}
# A notification sent to the customer is a milestone for the clocks that promised it.
MILESTONE_BY_PURPOSE = {
    "acknowledgement": Milestone.ACKNOWLEDGED,
    "public_acknowledgement": Milestone.ACKNOWLEDGED,
    "progress_update": Milestone.CUSTOMER_UPDATED,
    "delay_notice": Milestone.CUSTOMER_UPDATED,
    "holding_response": Milestone.HOLDING_RESPONSE_SENT,
    "final_response": Milestone.FINAL_RESPONSE_SENT,
    "summary_resolution": Milestone.SUMMARY_RESOLUTION_SENT,
}


def facts_from(classified: Event) -> ComplaintFacts:
    """'classified' is the first event that knows the regime; it carries the receipt time."""
    c = classified.classified
    return ComplaintFacts(
        complaint_id=classified.complaint_id,
        regime=c.regime or "none",
        jurisdiction=c.jurisdiction,
        severity=SEVERITY_NAMES.get(c.severity, "medium"),
        channel=CHANNEL_NAMES.get(c.channel, "email"),
        category=c.category,
        received_at=from_timestamp(c.received_at),
    )


# Case-management status changes that move clocks; internal clocks pause while we wait
# on the customer, regulatory ones never do (the domain decides which is which).
MILESTONE_BY_STATUS = {
    pb.STATUS_WAITING_ON_CUSTOMER: Milestone.WAITING_ON_CUSTOMER,
    pb.STATUS_CUSTOMER_RESPONDED: Milestone.CUSTOMER_RESPONDED,
    pb.STATUS_REOPENED: Milestone.REOPENED,
    pb.STATUS_RESOLVED: Milestone.CLOSED,
    pb.STATUS_CLOSED: Milestone.CLOSED,
}


def milestone_for(event: Event) -> tuple[Milestone, datetime] | None:
    """The clock milestone an event stands for, and when it happened, if any."""
    at = from_timestamp(event.occurred_at)
    match event.WhichOneof("payload"):
        case "notification_sent":
            purpose = PURPOSE_NAMES.get(event.notification_sent.purpose, "")
            milestone = MILESTONE_BY_PURPOSE.get(purpose)
        case "activity" if event.activity.kind == pb.ACTIVITY_KIND_CUSTOMER_MESSAGE:
            milestone = Milestone.CUSTOMER_RESPONDED
        case "activity" if event.activity.kind == pb.ACTIVITY_KIND_STATUS_CHANGE:
            milestone = MILESTONE_BY_STATUS.get(event.activity.new_status)
        case _:
            milestone = None
    return (milestone, at) if milestone is not None else None


def recorded_at_for(domain: ClockEvent, cause: Event | None) -> datetime:
    """When Kintsugi recorded a clock event: the later of the transition's instant and the
    recording of the event that caused it (a tick's transitions have no other cause).

    Never the process's wall clock, so a replay after a crash or a redelivery produces the
    same bytes and consumers drop it as a repeat; how late a tick noticed a transition is
    read from the Kafka record timestamp, which the producer sets when it sends.
    """
    if cause is None or not cause.HasField("recorded_at"):
        return domain.occurred_at
    return max(domain.occurred_at, from_timestamp(cause.recorded_at))


def to_events(domain_events: Sequence[ClockEvent], cause: Event | None) -> list[Event]:
    """The envelopes for a transition's clock events; the clocks a complaint starts with
    travel together in one ``clocks_started`` (its id derived from theirs). A function of
    its inputs only: the same transition and cause give the same bytes."""
    started = [e for e in domain_events if isinstance(e, ClockStarted)]
    events = [to_event(e, cause) for e in domain_events if not isinstance(e, ClockStarted)]
    if started:
        first = started[0]
        together = new_event(
            complaint_id=first.complaint_id,
            producer=PRODUCER,
            event_id=derived_id(*(e.event_id for e in started)),
            occurred_at=first.occurred_at,
            recorded_at=recorded_at_for(first, cause),
            causation_id=cause.event_id if cause is not None else "",
            correlation_id=cause.correlation_id if cause is not None else "",
            payload=cpb.ClocksStarted(clocks=[_started(e) for e in started]),
        )
        events.insert(0, together)
    return events


def _ref(domain: ClockEvent) -> cpb.ClockRef:
    return cpb.ClockRef(
        clock_id=domain.clock_id,
        policy_id=domain.policy_id,
        clock_kind=domain.clock_kind,
        regulatory=domain.regulatory,
        cycle=domain.cycle,
        policy_version=domain.policy_version,
        due_local_date=domain.due_local_date.isoformat() if domain.due_local_date else "",
    )


def _started(domain: ClockStarted) -> cpb.ClockStarted:
    return cpb.ClockStarted(
        clock=_ref(domain),
        started_at=to_timestamp(domain.started_at),
        due_at=to_timestamp(domain.due_at),
        pausable=domain.pausable,
    )


def to_event(domain: ClockEvent, cause: Event | None) -> Event:
    ref = _ref(domain)
    payload: Message
    match domain:
        case ClockStarted():
            payload = _started(domain)
        case ClockRestarted():
            payload = cpb.ClockRestarted(clock=ref, due_at=to_timestamp(domain.due_at))
        case ClockReset():
            payload = cpb.ClockReset(clock=ref, due_at=to_timestamp(domain.due_at))
        case ClockWarning():
            payload = cpb.ClockWarning(
                clock=ref,
                threshold_percent=domain.threshold_percent,
                due_at=to_timestamp(domain.due_at),
            )
        case CustomerUpdateDue():
            payload = cpb.CustomerUpdateDue(
                clock=ref,
                due_at=to_timestamp(domain.due_at),
                update_by=to_timestamp(domain.update_by),
            )
        case ClockBreached():
            payload = cpb.ClockBreached(clock=ref, due_at=to_timestamp(domain.due_at))
        case ClockStopped():
            payload = cpb.ClockStopped(
                clock=ref,
                outcome=OUTCOMES.get(domain.outcome, cpb.CLOCK_OUTCOME_UNSPECIFIED),
                due_at=to_timestamp(domain.due_at),
            )
        case ClockPaused():
            payload = cpb.ClockPaused(clock=ref)
        case ClockResumed():
            payload = cpb.ClockResumed(clock=ref, due_at=to_timestamp(domain.due_at))
        case _:
            assert_never(domain)
    return new_event(
        complaint_id=domain.complaint_id,
        producer=PRODUCER,
        event_id=domain.event_id,
        occurred_at=domain.occurred_at,
        recorded_at=recorded_at_for(domain, cause),
        causation_id=cause.event_id if cause is not None else "",
        correlation_id=cause.correlation_id if cause is not None else "",
        payload=payload,
    )
