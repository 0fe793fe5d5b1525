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


def invalid_argument_status(invalid: InvalidRequest, what: str = "complaint") -> grpc.Status:
    """INVALID_ARGUMENT carrying a google.rpc.BadRequest with one violation per rule."""
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.rule)
            for v in invalid.violations
        ]
    )
    return rich_status(code_pb2.INVALID_ARGUMENT, f"invalid {what}: {invalid}", bad_request)


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
