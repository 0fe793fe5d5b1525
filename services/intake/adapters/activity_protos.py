"""RecordActivityRequest -> domain Activity -> ActivityRecorded event."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from kintsugi.common.codec import Event, new_event
from kintsugi.common.ids import derived_id
from kintsugi.common.names import UNKNOWN
from kintsugi.common.vocabulary import (
    CHANNEL_VALUES,
    OUTCOME_VALUES,
    STATUS_VALUES,
    channel_name,
    outcome_name,
    status_name,
)
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2
from services.intake.adapters.protos import stated_instant
from services.intake.domain.activity import Activity, Goodwill, Money

PRODUCER = "intake"

KIND_VALUES = {
    "customer_message": pb.ACTIVITY_KIND_CUSTOMER_MESSAGE,
    "staff_response": pb.ACTIVITY_KIND_STAFF_MESSAGE,
    "status_change": pb.ACTIVITY_KIND_STATUS_CHANGE,
    "note": pb.ACTIVITY_KIND_NOTE,
}


def activity_from_request(request: intake_pb2.RecordActivityRequest) -> Activity:
    kind = request.WhichOneof("activity") or UNKNOWN
    activity = Activity(
        source_system=request.source_system.strip(),
        source_reference=request.source_reference.strip(),
        activity_reference=request.activity_reference.strip(),
        occurred_at=stated_instant(request.occurred_at, "occurred_at")
        if request.HasField("occurred_at")
        else None,
        actor_id=request.actor_id.strip(),
        actor_name=request.actor_name.strip(),
        kind=kind,
    )
    match kind:
        case "customer_message":
            message = request.customer_message
            return replace(activity, channel=channel_name(message.channel), text=message.summary)
        case "staff_response":
            response = request.staff_response
            return replace(activity, channel=channel_name(response.channel), text=response.summary)
        case "note":
            return replace(activity, text=request.note.text)
        case "status_change":
            change = request.status_change
            return replace(
                activity,
                new_status=status_name(change.new_status),
                outcome=outcome_name(change.outcome) if change.outcome else "",
                redress=Money(change.redress.amount_minor, change.redress.currency.strip())
                if change.HasField("redress")
                else None,
                goodwill=Goodwill(
                    change.goodwill.kind.strip(),
                    Money(change.goodwill.amount_minor, change.goodwill.currency.strip()),
                    change.goodwill.reason,
                )
                if change.HasField("goodwill")
                else None,
            )
    return activity


def activity_id_for(source_system: str, activity_reference: str) -> str:
    """One upstream activity is one event, whichever complaint a retry names."""
    return derived_id("activity", source_system, activity_reference)


def activity_event(
    activity: Activity, complaint_id: str, activity_id: str, recorded_at: datetime
) -> Event:
    assert activity.occurred_at is not None  # validated before acceptance
    payload = pb.ActivityRecorded(
        kind=KIND_VALUES[activity.kind],
        actor_id=activity.actor_id,
        actor_name=activity.actor_name,
        channel=CHANNEL_VALUES.get(activity.channel, pb.CHANNEL_UNSPECIFIED),
        body=activity.text,
        new_status=STATUS_VALUES.get(activity.new_status, pb.STATUS_UNSPECIFIED),
        outcome=OUTCOME_VALUES.get(activity.outcome, pb.RESOLUTION_OUTCOME_UNSPECIFIED),
        source_system=activity.source_system,
        activity_reference=activity.activity_reference,
    )
    if activity.redress is not None:
        payload.redress.CopyFrom(
            pb.Money(amount_minor=activity.redress.amount_minor, currency=activity.redress.currency)
        )
    if activity.goodwill is not None:
        goodwill = activity.goodwill
        payload.goodwill.CopyFrom(
            pb.GoodwillGesture(
                kind=goodwill.kind,
                amount_minor=goodwill.amount.amount_minor,
                currency=goodwill.amount.currency,
                reason=goodwill.reason,
            )
        )
    return new_event(
        complaint_id=complaint_id,
        producer=PRODUCER,
        event_id=activity_id,
        occurred_at=activity.occurred_at,
        recorded_at=recorded_at,
        # The complaint's story: every activity correlates with its receipt.
        correlation_id=derived_id(complaint_id, "received"),
        payload=payload,
    )


def activity_response(complaint_id: str, activity_id: str) -> intake_pb2.RecordActivityResponse:
    return intake_pb2.RecordActivityResponse(complaint_id=complaint_id, activity_id=activity_id)
