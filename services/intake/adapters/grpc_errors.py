"""google.rpc rich errors for the intake API: the details a client can act on."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.intake.domain.rules import InvalidRequest


def rich_status(code: int, message: str, *details: Message) -> grpc.Status:
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=packed))


# The status travels in the trailers, base64-encoded, beside its percent-encoded message,
# and a client refuses trailers over 8 KiB (gRPC's default max_metadata_size): past these
# budgets a request with many broken rules would hear RESOURCE_EXHAUSTED instead of which.
MAX_VIOLATIONS_BYTES = 3_000
MAX_MESSAGE_CHARS = 300


def invalid_argument_status(invalid: InvalidRequest, what: str = "complaint") -> grpc.Status:
    """INVALID_ARGUMENT carrying a google.rpc.BadRequest with one violation per rule (as
    many as the trailers hold; then one saying how many more)."""
    Violation = error_details_pb2.BadRequest.FieldViolation
    listed: list[error_details_pb2.BadRequest.FieldViolation] = []
    size = 0
    for v in invalid.violations:
        violation = Violation(field=v.field[:200], description=v.rule[:500])
        size += violation.ByteSize() + 3  # with its tag and length
        if size > MAX_VIOLATIONS_BYTES:
            break
        listed.append(violation)
    unlisted = len(invalid.violations) - len(listed)
    if unlisted:
        listed.append(Violation(field="(more)", description=f"{unlisted} more broken rules"))
    message = f"invalid {what}: {invalid}"
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    bad_request = error_details_pb2.BadRequest(field_violations=listed)
    return rich_status(code_pb2.INVALID_ARGUMENT, message, bad_request)


def already_exists_status(message: str, resource_type: str, resource_name: str) -> grpc.Status:
    """ALREADY_EXISTS naming what exists (google.rpc.ResourceInfo)."""
    info = error_details_pb2.ResourceInfo(
        resource_type=resource_type, resource_name=resource_name, description=message
    )
    return rich_status(code_pb2.ALREADY_EXISTS, message, info)


def not_found_status(message: str, complaint_id: str) -> grpc.Status:
    info = error_details_pb2.ResourceInfo(
        resource_type="complaint", resource_name=complaint_id, description=message
    )
    return rich_status(code_pb2.NOT_FOUND, message, info)


def unavailable_status(message: str, retry_after_s: float) -> grpc.Status:
    """UNAVAILABLE with a google.rpc.RetryInfo: when to try again (with the same request)."""
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(int(retry_after_s * 1000))
    return rich_status(
        code_pb2.UNAVAILABLE, message, error_details_pb2.RetryInfo(retry_delay=delay)
    )
