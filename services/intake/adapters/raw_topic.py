"""Accepts SubmitComplaintRequest messages that upstream systems publish on Kafka."""

from __future__ import annotations

from google.protobuf.message import DecodeError

from kintsugi.common.codec import UndecodableMessage
from kintsugi.common.kafka import PermanentFailure
from kintsugi.intake.v1 import intake_pb2
from services.intake.adapters.protos import submission_from_request
from services.intake.domain.submission import InvalidSubmission
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


class RawComplaintHandler:
    """The same use case as the gRPC API; what gRPC would refuse is dead-lettered with the
    same reason (other failures are retried, then dead-lettered, by the consumer loop)."""

    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    async def __call__(self, request: intake_pb2.SubmitComplaintRequest) -> None:
        try:
            await self._intake.submit(submission_from_request(request), via="kafka")
        except InvalidSubmission as invalid:
            raise PermanentFailure(f"invalid SubmitComplaintRequest: {invalid}") from invalid
        except AlreadyClaimed as conflict:
            raise PermanentFailure(str(conflict)) from conflict
