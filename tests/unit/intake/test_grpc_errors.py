"""gRPC edge: invalid input is INVALID_ARGUMENT carrying a google.rpc.BadRequest per rule."""

from __future__ import annotations

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2

from services.intake.adapters.grpc_errors import invalid_argument_status
from services.intake.domain.submission import FieldViolation, InvalidSubmission, validate
from tests.unit.intake.factories import NOW, RULES, a_customer, a_submission

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
