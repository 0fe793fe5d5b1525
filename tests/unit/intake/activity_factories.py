"""Builders for activity tests: a valid RecordActivityRequest of each kind."""

from __future__ import annotations

from datetime import timedelta

from google.protobuf.message import Message

from kintsugi.common.timeutil import to_timestamp
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2
from tests.unit.intake.factories import NOW

OCCURRED_AT = NOW - timedelta(minutes=1)


def an_activity_request(
    reference: str = "ACT-1", **kind: Message
) -> intake_pb2.RecordActivityRequest:
    """A handler's phone call on CASE-1001, unless ``kind`` says otherwise."""
    request = intake_pb2.RecordActivityRequest(
        source_system="crm",
        source_reference="CASE-1001",
        activity_reference=reference,
        occurred_at=to_timestamp(OCCURRED_AT),
        actor_id="h-42",
        actor_name="Amara Okafor",
    )
    for name, value in (kind or {"staff_response": a_phone_call()}).items():
        getattr(request, name).CopyFrom(value)
    return request


def a_phone_call() -> intake_pb2.StaffResponse:
    return intake_pb2.StaffResponse(channel=pb.CHANNEL_PHONE, summary="Called, apologised")


def resolved(*, without: tuple[str, ...] = (), **scalars: int) -> intake_pb2.RecordActivityRequest:
    change = intake_pb2.StatusChange(
        new_status=pb.STATUS_RESOLVED,
        outcome=pb.RESOLUTION_OUTCOME_UPHELD,
        redress=pb.Money(amount_minor=2500, currency="GBP"),
        goodwill=pb.GoodwillGesture(kind="voucher", amount_minor=1000, currency="GBP"),
    )
    for name in without:
        change.ClearField(name)  # type: ignore[arg-type]
    for name, value in scalars.items():
        setattr(change, name, value)
    return an_activity_request(status_change=change)


def status_change(status: pb.Status.ValueType) -> intake_pb2.RecordActivityRequest:
    return an_activity_request(status_change=intake_pb2.StatusChange(new_status=status))
