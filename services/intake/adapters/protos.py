"""Translation between the intake protobuf contracts and the intake domain."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from kintsugi.common.codec import Event, new_event
from kintsugi.common.ids import derived_id
from kintsugi.common.timeutil import from_timestamp, to_timestamp
from kintsugi.common.vocabulary import CHANNEL_VALUES, SEVERITY_VALUES, channel_name
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2
from services.intake.domain.classification import Classification
from services.intake.domain.rules import FieldViolation, InvalidRequest
from services.intake.domain.submission import Customer, Submission
from services.intake.records import AcceptedComplaint

PRODUCER = "intake"


def stated_instant(stamp: Timestamp, field: str) -> datetime:
    """A time the request states; one no calendar can hold is a broken rule, named."""
    try:
        return from_timestamp(stamp)
    except ValueError as error:
        rule = "must be a valid timestamp (years 1 to 9999, nanos 0 to 999,999,999)"
        raise InvalidRequest([FieldViolation(field, rule)]) from error


def submission_from_request(request: intake_pb2.SubmitComplaintRequest) -> Submission:
    customer = request.customer
    return Submission(
        source_system=request.source_system.strip(),
        source_reference=request.source_reference.strip(),
        customer=Customer(
            customer_id=customer.customer_id.strip(),
            display_name=customer.display_name,
            email=customer.email.strip(),
            phone=customer.phone.strip(),
            social_handle=customer.social_handle.strip(),
            preferred_language=customer.preferred_language.strip(),
            declared_vulnerable=customer.declared_vulnerable,
        ),
        channel=channel_name(request.channel),
        subject=request.subject,
        description=request.description,
        product=request.product.strip(),
        jurisdiction=request.jurisdiction.strip().upper(),
        received_at=stated_instant(request.received_at, "received_at")
        if request.HasField("received_at")
        else None,
        attributes=dict(request.attributes),
    )


def reasons_to_proto(classification: Classification) -> list[pb.Reason]:
    return [pb.Reason(code=r.code, detail=r.detail) for r in classification.reasons]


def response_for(accepted: AcceptedComplaint) -> intake_pb2.SubmitComplaintResponse:
    c = accepted.classification
    return intake_pb2.SubmitComplaintResponse(
        complaint_id=accepted.complaint_id,
        category=c.category,
        severity=SEVERITY_VALUES[c.severity],
        regime=c.regime,
        reasons=reasons_to_proto(c),
    )


def events_for(accepted: AcceptedComplaint) -> tuple[Event, Event]:
    """``received`` then ``classified``, with ids derived from the complaint id."""
    s, c = accepted.submission, accepted.classification
    assert s.received_at is not None  # validated before acceptance
    customer = pb.Customer(
        customer_id=s.customer.customer_id,
        display_name=s.customer.display_name,
        email=s.customer.email,
        phone=s.customer.phone,
        social_handle=s.customer.social_handle,
        preferred_language=s.customer.preferred_language,
        declared_vulnerable=s.customer.declared_vulnerable,
    )
    received = new_event(
        complaint_id=accepted.complaint_id,
        producer=PRODUCER,
        event_id=derived_id(accepted.complaint_id, "received"),
        occurred_at=s.received_at,
        recorded_at=accepted.accepted_at,
        payload=pb.ComplaintReceived(
            source_system=s.source_system,
            source_reference=s.source_reference,
            customer=customer,
            channel=CHANNEL_VALUES[s.channel],
            subject=s.subject,
            description=s.description,
            product=s.product,
            jurisdiction=s.jurisdiction,
            received_at=to_timestamp(s.received_at),
            attributes=s.attributes,
        ),
    )
    classified = new_event(
        complaint_id=accepted.complaint_id,
        producer=PRODUCER,
        event_id=derived_id(accepted.complaint_id, "classified"),
        occurred_at=accepted.accepted_at,
        recorded_at=accepted.accepted_at,
        causation_id=received.event_id,
        correlation_id=received.correlation_id,
        payload=pb.ComplaintClassified(
            category=c.category,
            severity=SEVERITY_VALUES[c.severity],
            vulnerable=c.vulnerable,
            regime=c.regime,
            public_channel=c.public_channel,
            abusive=c.abusive,
            language=c.language,
            jurisdiction=s.jurisdiction,
            channel=CHANNEL_VALUES[s.channel],
            product=s.product,
            customer_id=s.customer.customer_id,
            reasons=reasons_to_proto(c),
            received_at=to_timestamp(s.received_at),
        ),
    )
    return received, classified
