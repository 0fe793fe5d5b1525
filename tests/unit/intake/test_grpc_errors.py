"""gRPC edge: invalid input is INVALID_ARGUMENT carrying a google.rpc.BadRequest per rule."""

from __future__ import annotations

from typing import Any, NoReturn

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2

from kintsugi.events.v1 import complaint_pb2 as pb
from services.intake.adapters.grpc_api import IntakeServicer
from services.intake.adapters.grpc_errors import invalid_argument_status
from services.intake.domain.submission import FieldViolation, InvalidSubmission, validate
from services.intake.ledger import InMemoryLedger
from services.intake.service import Intake
from tests.unit.intake.factories import NOW, RULES, a_customer, a_request, a_submission
from tests.unit.intake.fakes import RecordedEvents, UnavailableEvents

STATUS_DETAILS_KEY = "grpc-status-details-bin"


def rich_status(status: grpc.Status) -> status_pb2.Status:
    """The google.rpc.Status a client decodes from the trailing metadata."""
    [raw] = [value for key, value in status.trailing_metadata if key == STATUS_DETAILS_KEY]
    return status_pb2.Status.FromString(raw)


def bad_request_of(rich: status_pb2.Status) -> list[tuple[str, str]]:
    [detail] = rich.details
    bad_request = error_details_pb2.BadRequest()
    assert detail.Unpack(bad_request), f"detail is {detail.type_url}, not a BadRequest"
    return [(v.field, v.description) for v in bad_request.field_violations]


def test_invalid_submission_is_invalid_argument_with_one_field_violation_per_rule() -> None:
    submission = a_submission(channel="sms", customer=a_customer(phone=""), jurisdiction="England")
    violations = validate(submission, NOW, RULES)

    status = invalid_argument_status(InvalidSubmission(violations))

    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    rich = rich_status(status)
    assert rich.code == code_pb2.INVALID_ARGUMENT
    assert bad_request_of(rich) == [
        ("jurisdiction", violations[0].rule),
        ("customer.phone", "required to reply on channel 'sms'"),
    ]


def test_the_plain_status_message_also_names_each_field_for_clients_without_rich_errors() -> None:
    invalid = InvalidSubmission(
        [FieldViolation("channel", "required"), FieldViolation("received_at", "in the future")]
    )

    status = invalid_argument_status(invalid)

    assert status.details == "invalid complaint: channel: required; received_at: in the future"
    assert rich_status(status).message == status.details


class AbortedError(Exception):
    pass


class FakeContext:
    """Just enough of grpc.aio.ServicerContext: abort records the status and raises."""

    def __init__(self) -> None:
        self.aborted: tuple[grpc.StatusCode, str, Any] | None = None

    async def abort(self, code: grpc.StatusCode, details: str = "", trailing: Any = ()) -> NoReturn:
        self.aborted = (code, details, trailing)
        raise AbortedError(details)


def as_grpc(context: FakeContext) -> Any:
    return context


async def test_submit_complaint_answers_with_the_id_and_classification() -> None:
    recorded = RecordedEvents()
    servicer = IntakeServicer(Intake(recorded, InMemoryLedger(), clock=lambda: NOW, rules=RULES))

    response = await servicer.SubmitComplaint(a_request(), as_grpc(FakeContext()))

    assert response.complaint_id == recorded.events[0].complaint_id
    assert response.category == "fraud"
    assert response.regime == "uk-psd2-emoney"


async def test_submit_complaint_aborts_with_the_bad_request_in_trailing_metadata() -> None:
    recorded = RecordedEvents()
    servicer = IntakeServicer(Intake(recorded, InMemoryLedger(), clock=lambda: NOW, rules=RULES))
    context = FakeContext()

    with pytest.raises(AbortedError):
        await servicer.SubmitComplaint(a_request(channel=pb.CHANNEL_UNSPECIFIED), as_grpc(context))

    assert context.aborted is not None
    code, _, trailing = context.aborted
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    [raw] = [value for key, value in trailing if key == STATUS_DETAILS_KEY]
    assert [f for f, _ in bad_request_of(status_pb2.Status.FromString(raw))] == ["channel"]
    assert recorded.events == []


async def test_submit_complaint_asks_the_caller_to_retry_when_it_could_not_be_recorded() -> None:
    servicer = IntakeServicer(
        Intake(UnavailableEvents(), InMemoryLedger(), clock=lambda: NOW, rules=RULES)
    )
    context = FakeContext()

    with pytest.raises(AbortedError):
        await servicer.SubmitComplaint(a_request(), as_grpc(context))

    assert context.aborted is not None
    code, details, _ = context.aborted
    assert code == grpc.StatusCode.UNAVAILABLE
    assert "retry" in details
