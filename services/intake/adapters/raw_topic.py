"""Accepts SubmitComplaintRequest and RecordActivityRequest messages that upstream systems
publish on Kafka (one message type per topic)."""

from __future__ import annotations

from google.protobuf.message import DecodeError

from kintsugi.common.codec import UndecodableMessage
from kintsugi.common.kafka import PermanentFailure
from kintsugi.intake.v1 import intake_pb2
from services.intake.adapters.activity_protos import activity_from_request
from services.intake.adapters.protos import submission_from_request
from services.intake.domain.rules import InvalidRequest
from services.intake.service import AlreadyClaimed, Intake


def decode_request(value: bytes | None) -> intake_pb2.SubmitComplaintRequest:
    request = intake_pb2.SubmitComplaintRequest()
    try:
        request.ParseFromString(value or b"")
    except DecodeError as error:
        raise UndecodableMessage(
            f"not a kintsugi.intake.v1.SubmitComplaintRequest protobuf: {error}"
        ) from error
    return request


def decode_activity(value: bytes | None) -> intake_pb2.RecordActivityRequest:
    request = intake_pb2.RecordActivityRequest()
    try:
        request.ParseFromString(value or b"")
    except DecodeError as error:
        raise UndecodableMessage(
            f"not a kintsugi.intake.v1.RecordActivityRequest protobuf: {error}"
        ) from error
    return request


class RawComplaintHandler:
    """The same use case as the gRPC API; what gRPC would refuse is dead-lettered with the
    same reason (other failures are retried, then dead-lettered, by the consumer loop)."""

    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    async def __call__(self, request: intake_pb2.SubmitComplaintRequest) -> None:
        try:
            await self._intake.submit(submission_from_request(request), via="kafka")
        except InvalidRequest as invalid:
            raise PermanentFailure(f"invalid SubmitComplaintRequest: {invalid}") from invalid
        except AlreadyClaimed as conflict:
            raise PermanentFailure(str(conflict)) from conflict


class RawActivityHandler:
    """As ``RawComplaintHandler``. An activity for a complaint not seen yet is retried (it
    may be on its way through the other raw topic), then dead-lettered."""

    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    async def __call__(self, request: intake_pb2.RecordActivityRequest) -> None:
        try:
            await self._intake.record_activity(activity_from_request(request), via="kafka")
        except InvalidRequest as invalid:
            raise PermanentFailure(f"invalid RecordActivityRequest: {invalid}") from invalid
        except AlreadyClaimed as conflict:
            raise PermanentFailure(str(conflict)) from conflict
