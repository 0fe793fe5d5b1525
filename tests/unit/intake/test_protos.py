"""Translation between the intake protobuf contracts and the domain, and the events published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kintsugi.common.codec import decode, encode, event_type
from kintsugi.common.ids import derived_id
from kintsugi.events.v1 import complaint_pb2 as pb
from services.intake.adapters.protos import events_for, response_for, submission_from_request
from services.intake.domain.classification import classify
from services.intake.domain.submission import validate
from services.intake.records import AcceptedComplaint
from services.intake.service import complaint_id_for
from tests.unit.intake.factories import NOW, RECEIVED_AT, RULES, a_customer, a_request, a_submission


def accepted_complaint(accepted_at: datetime = NOW, **changes: Any) -> AcceptedComplaint:
    submission = a_submission(received_at=RECEIVED_AT, **changes)
    return AcceptedComplaint(
        complaint_id=complaint_id_for(submission.source_system, submission.source_reference),
        submission=submission,
        classification=classify(submission),
        accepted_at=accepted_at,
    )


class TestSubmissionFromRequest:
    def test_identifiers_and_contact_details_are_trimmed_and_jurisdiction_upper_cased(
        self,
    ) -> None:
        submission = submission_from_request(a_request())

        assert submission.source_system == "crm"
        assert submission.source_reference == "CASE-1001"
        assert submission.jurisdiction == "GB-ENG"
        assert submission.product == "payments"
        assert submission.customer == a_customer(preferred_language="cy", declared_vulnerable=True)

    def test_a_well_formed_request_passes_validation(self) -> None:
        assert validate(submission_from_request(a_request()), NOW, RULES) == []

    def test_free_text_is_kept_exactly_as_the_customer_wrote_it(self) -> None:
        request = a_request(subject="  Card declined  ", description="Line one\n  Line two\n")

        submission = submission_from_request(request)

        assert submission.subject == "  Card declined  "
        assert submission.description == "Line one\n  Line two\n"

    @pytest.mark.parametrize(
        ("channel", "name"),
        [
            (pb.CHANNEL_EMAIL, "email"),
            (pb.CHANNEL_WEB_FORM, "web_form"),
            (pb.CHANNEL_SOCIAL_PUBLIC, "social_public"),
            (pb.CHANNEL_BRANCH, "branch"),
        ],
    )
    def test_channel_enum_becomes_the_domain_name(
        self, channel: pb.Channel.ValueType, name: str
    ) -> None:
        assert submission_from_request(a_request(channel=channel)).channel == name

    def test_an_unspecified_channel_is_rejected_by_validation(self) -> None:
        submission = submission_from_request(a_request(channel=pb.CHANNEL_UNSPECIFIED))

        assert [v.field for v in validate(submission, NOW, RULES)] == ["channel"]

    def test_receipt_time_is_a_timezone_aware_utc_instant(self) -> None:
        received_at = submission_from_request(a_request()).received_at

        assert received_at == RECEIVED_AT
        assert received_at is not None and received_at.utcoffset() == timedelta(0)

    def test_a_missing_receipt_time_is_reported_not_defaulted(self) -> None:
        request = a_request()
        request.ClearField("received_at")

        submission = submission_from_request(request)

        assert submission.received_at is None
        assert [v.field for v in validate(submission, NOW, RULES)] == ["received_at"]

    def test_upstream_attributes_are_carried_over(self) -> None:
        assert submission_from_request(a_request()).attributes == {"crm_queue": "retail"}


class TestEventsFor:
    def test_a_complaint_produces_received_then_classified_keyed_by_its_id(self) -> None:
        accepted = accepted_complaint()

        received, classified = events_for(accepted)

        assert [event_type(received), event_type(classified)] == ["received", "classified"]
        assert received.complaint_id == classified.complaint_id == accepted.complaint_id
        assert received.producer == classified.producer == "intake"

    def test_event_ids_are_derived_from_the_complaint_so_a_retry_publishes_the_same_ids(
        self,
    ) -> None:
        first = events_for(accepted_complaint(accepted_at=NOW))
        retry = events_for(accepted_complaint(accepted_at=NOW + timedelta(minutes=2)))

        assert [e.event_id for e in first] == [e.event_id for e in retry]
        complaint_id = accepted_complaint().complaint_id
        assert [e.event_id for e in first] == [
            derived_id(complaint_id, "received"),
            derived_id(complaint_id, "classified"),
        ]

    def test_the_same_acceptance_gives_byte_identical_events(self) -> None:
        accepted = accepted_complaint()

        assert [e.SerializeToString(deterministic=True) for e in events_for(accepted)] == [
            e.SerializeToString(deterministic=True) for e in events_for(accepted)
        ]

    def test_classified_is_caused_by_received_and_both_share_one_correlation(self) -> None:
        received, classified = events_for(accepted_complaint())

        assert received.causation_id == ""
        assert received.correlation_id == received.event_id
        assert classified.causation_id == received.event_id
        assert classified.correlation_id == received.event_id

    def test_received_occurred_at_the_firms_receipt_time_and_was_recorded_on_acceptance(
        self,
    ) -> None:
        received, classified = events_for(accepted_complaint(accepted_at=NOW))

        assert received.occurred_at.ToDatetime(tzinfo=UTC) == RECEIVED_AT
        assert received.recorded_at.ToDatetime(tzinfo=UTC) == NOW
        assert classified.occurred_at.ToDatetime(tzinfo=UTC) == NOW

    def test_received_carries_everything_the_customer_told_us(self) -> None:
        accepted = accepted_complaint(channel="web_form")

        received = events_for(accepted)[0].received

        s = accepted.submission
        assert received.source_system == s.source_system
        assert received.source_reference == s.source_reference
        assert received.channel == pb.CHANNEL_WEB_FORM
        assert received.subject == s.subject
        assert received.description == s.description
        assert received.jurisdiction == s.jurisdiction
        assert received.customer.display_name == "Jane Doe"
        assert received.customer.email == "jane.doe@example.com"
        assert dict(received.attributes) == {"crm_queue": "retail"}
        assert received.received_at.ToDatetime(tzinfo=UTC) == RECEIVED_AT

    def test_classified_carries_the_decisions_and_every_reason(self) -> None:
        accepted = accepted_complaint(
            description="Unauthorised payments; I am talking to my solicitor",
            jurisdiction="AU-NSW",
            customer=a_customer(preferred_language="en-AU"),
        )

        classified = events_for(accepted)[1].classified

        assert classified.category == "fraud"
        assert classified.severity == pb.SEVERITY_CRITICAL
        assert classified.regime == "au-asic-rg271"
        assert classified.language == "en-AU"
        assert classified.customer_id == "cust-001"
        assert classified.channel == pb.CHANNEL_EMAIL
        assert [(r.code, r.detail) for r in classified.reasons] == [
            (r.code, r.detail) for r in accepted.classification.reasons
        ]

    def test_events_survive_the_wire_format(self) -> None:
        for event in events_for(accepted_complaint()):
            key, value, _ = encode(event)
            assert key == event.complaint_id.encode()
            assert decode(value) == event


def test_response_tells_the_caller_the_id_and_how_the_complaint_was_classified() -> None:
    accepted = accepted_complaint(description="You overcharged me")

    response = response_for(accepted)

    assert response.complaint_id == accepted.complaint_id
    assert response.category == "fees"
    assert response.severity == pb.SEVERITY_MEDIUM
    assert response.regime == "uk-fca-disp"
    assert [r.code for r in response.reasons] == [r.code for r in accepted.classification.reasons]
