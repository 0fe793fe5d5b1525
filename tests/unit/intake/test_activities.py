"""RecordActivity: what happened upstream, validated, recorded once as ActivityRecorded."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from kintsugi.common.codec import event_type
from kintsugi.common.kafka import PermanentFailure
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2
from services.intake.adapters.activity_protos import activity_from_request, activity_id_for
from services.intake.adapters.raw_topic import RawActivityHandler
from services.intake.domain.activity import validate_activity
from services.intake.domain.rules import InvalidRequest
from services.intake.ledger import InMemoryLedger
from services.intake.service import AlreadyClaimed, ComplaintNotFound, Intake, complaint_id_for
from tests.unit.intake.activity_factories import (
    OCCURRED_AT,
    a_phone_call,
    an_activity_request,
    resolved,
    status_change,
)
from tests.unit.intake.factories import NOW, RULES, a_submission
from tests.unit.intake.fakes import RecordedEvents

COMPLAINT_ID = complaint_id_for("crm", "CASE-1001")


def broken_fields(request: intake_pb2.RecordActivityRequest) -> list[str]:
    return [v.field for v in validate_activity(activity_from_request(request), NOW, RULES)]


@pytest.fixture
def events() -> RecordedEvents:
    return RecordedEvents()


@pytest.fixture
async def intake(events: RecordedEvents) -> Intake:
    intake = Intake(events, InMemoryLedger(), lambda: NOW, RULES)
    await intake.submit(a_submission())  # CASE-1001 exists
    events.events.clear()
    return intake


class TestValidation:
    @pytest.mark.parametrize(
        "request_",
        [
            an_activity_request(),
            an_activity_request(
                customer_message=intake_pb2.CustomerMessage(channel=pb.CHANNEL_EMAIL)
            ),
            an_activity_request(note=intake_pb2.InternalNote(text="Spoke to branch.\nOK.")),
            status_change(pb.STATUS_WAITING_ON_CUSTOMER),
            status_change(pb.STATUS_CUSTOMER_RESPONDED),
            status_change(pb.STATUS_REOPENED),
            resolved(),
            resolved(without=("redress", "goodwill")),
        ],
        ids=[
            "phone-call",
            "customer-email",
            "note",
            "awaiting-customer",
            "customer-responded",
            "reopened",
            "resolved-with-redress-and-goodwill",
            "resolved-without-payment",
        ],
    )
    def test_every_kind_of_activity_is_accepted(
        self, request_: intake_pb2.RecordActivityRequest
    ) -> None:
        assert broken_fields(request_) == []

    @pytest.mark.parametrize(
        ("request_", "fields"),
        [
            (intake_pb2.RecordActivityRequest(), None),
            (
                an_activity_request(staff_response=intake_pb2.StaffResponse()),
                ["staff_response.channel"],
            ),
            (an_activity_request(note=intake_pb2.InternalNote(text=" ")), ["note.text"]),
            (status_change(pb.STATUS_IN_PROGRESS), ["status_change.new_status"]),
            (status_change(pb.STATUS_UNSPECIFIED), ["status_change.new_status"]),
            (resolved(outcome=pb.RESOLUTION_OUTCOME_UNSPECIFIED), ["status_change.outcome"]),
            (
                resolved(new_status=pb.STATUS_REOPENED),
                ["status_change.outcome", "status_change.redress", "status_change.goodwill"],
            ),
        ],
        ids=[
            "empty",
            "no-channel",
            "blank-note",
            "unsupported-status",
            "no-status",
            "resolved-without-outcome",
            "payments-without-resolution",
        ],
    )
    def test_broken_rules_name_their_fields(
        self, request_: intake_pb2.RecordActivityRequest, fields: list[str] | None
    ) -> None:
        if fields is None:  # everything is missing: every required field is named
            assert set(broken_fields(request_)) >= {
                "source_system",
                "source_reference",
                "activity_reference",
                "actor_id",
                "occurred_at",
                "activity",
            }
        else:
            assert broken_fields(request_) == fields

    def test_money_must_be_positive_and_in_an_iso_currency(self) -> None:
        request = resolved()
        request.status_change.redress.amount_minor = -1
        request.status_change.goodwill.currency = "pounds"
        request.status_change.goodwill.kind = ""

        assert broken_fields(request) == [
            "status_change.redress.amount_minor",
            "status_change.goodwill.kind",
            "status_change.goodwill.currency",
        ]

    def test_times_and_single_line_fields_follow_the_same_rules_as_complaints(self) -> None:
        request = an_activity_request(reference="ACT\r\n1")
        request.actor_name = "Amara\nOkafor"
        request.occurred_at.FromDatetime(NOW - timedelta(days=400))

        assert broken_fields(request) == ["occurred_at", "activity_reference", "actor_name"]


class TestRecording:
    async def test_an_activity_is_published_as_activity_recorded_keyed_by_the_complaint(
        self, intake: Intake, events: RecordedEvents
    ) -> None:
        response = await intake.record_activity(activity_from_request(resolved()))

        [event] = events.events
        assert response.complaint_id == event.complaint_id == COMPLAINT_ID
        assert response.activity_id == event.event_id == activity_id_for("crm", "ACT-1")
        assert event_type(event) == "activity"
        assert event.occurred_at.ToDatetime().replace(tzinfo=NOW.tzinfo) == OCCURRED_AT
        recorded = event.activity
        assert recorded.kind == pb.ACTIVITY_KIND_STATUS_CHANGE
        assert recorded.new_status == pb.STATUS_RESOLVED
        assert recorded.outcome == pb.RESOLUTION_OUTCOME_UPHELD
        assert (recorded.redress.amount_minor, recorded.redress.currency) == (2500, "GBP")
        assert (recorded.goodwill.kind, recorded.goodwill.amount_minor) == ("voucher", 1000)
        assert (recorded.source_system, recorded.activity_reference) == ("crm", "ACT-1")
        assert (recorded.actor_id, recorded.actor_name) == ("h-42", "Amara Okafor")

    async def test_a_staff_phone_call_keeps_its_channel(
        self, intake: Intake, events: RecordedEvents
    ) -> None:
        await intake.record_activity(activity_from_request(an_activity_request()))

        [event] = events.events
        assert event.activity.kind == pb.ACTIVITY_KIND_STAFF_MESSAGE
        assert event.activity.channel == pb.CHANNEL_PHONE

    async def test_the_same_activity_again_is_answered_and_not_published_twice(
        self, intake: Intake, events: RecordedEvents
    ) -> None:
        first = await intake.record_activity(activity_from_request(an_activity_request()))
        again = await intake.record_activity(activity_from_request(an_activity_request()))

        assert again == first
        assert len(events.events) == 1

    async def test_different_content_under_a_used_activity_reference_is_refused(
        self, intake: Intake, events: RecordedEvents
    ) -> None:
        await intake.record_activity(activity_from_request(an_activity_request()))

        with pytest.raises(AlreadyClaimed) as refused:
            await intake.record_activity(
                activity_from_request(an_activity_request(status_change=resolved().status_change))
            )

        assert refused.value.complaint_id == COMPLAINT_ID
        assert len(events.events) == 1

    async def test_an_activity_reference_reused_on_another_complaint_is_refused(
        self, intake: Intake, events: RecordedEvents
    ) -> None:
        await intake.submit(a_submission(source_reference="CASE-2002"))
        await intake.record_activity(activity_from_request(an_activity_request()))
        other = replace(activity_from_request(an_activity_request()), source_reference="CASE-2002")

        with pytest.raises(AlreadyClaimed) as refused:
            await intake.record_activity(other)

        assert refused.value.complaint_id == COMPLAINT_ID

    async def test_activity_on_a_complaint_never_submitted_is_not_found_and_not_published(
        self, intake: Intake, events: RecordedEvents
    ) -> None:
        request = an_activity_request()
        request.source_reference = "NEVER-SUBMITTED"

        with pytest.raises(ComplaintNotFound) as missing:
            await intake.record_activity(activity_from_request(request))

        assert missing.value.complaint_id == complaint_id_for("crm", "NEVER-SUBMITTED")
        assert events.events == []

    async def test_an_invalid_activity_is_refused_and_nothing_is_published(
        self, intake: Intake, events: RecordedEvents
    ) -> None:
        with pytest.raises(InvalidRequest):
            await intake.record_activity(activity_from_request(status_change(pb.STATUS_OPEN)))

        assert events.events == []


class TestRawTopic:
    async def test_the_raw_topic_shares_the_use_case_and_dead_letters_what_grpc_refuses(
        self, intake: Intake, events: RecordedEvents
    ) -> None:
        handle = RawActivityHandler(intake)

        await handle(an_activity_request(staff_response=a_phone_call()))
        with pytest.raises(PermanentFailure, match="new_status"):
            await handle(status_change(pb.STATUS_OPEN))

        assert [event_type(e) for e in events.events] == ["activity"]

    async def test_an_activity_ahead_of_its_complaint_is_retried_not_dead_lettered(
        self, intake: Intake
    ) -> None:
        request = an_activity_request()
        request.source_reference = "ON-ITS-WAY"

        with pytest.raises(ComplaintNotFound) as failure:
            await RawActivityHandler(intake)(request)

        assert not isinstance(failure.value, PermanentFailure)
