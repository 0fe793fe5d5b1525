"""Accepts SubmitComplaintRequest messages that upstream systems publish on Kafka."""

from __future__ import annotations

from google.protobuf.message import DecodeError

from kintsugi.common import metrics
from kintsugi.common.codec import UndecodableMessage
from kintsugi.common.kafka import PermanentFailure
from kintsugi.common.logs import get_logger
from kintsugi.intake.v1 import intake_pb2
from services.intake.adapters.protos import submission_from_request
from services.intake.domain.submission import InvalidSubmission
from services.intake.service import Intake

log = get_logger(__name__)


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
    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    async def __call__(self, request: intake_pb2.SubmitComplaintRequest) -> None:
        submission = submission_from_request(request)
        try:
            accepted = await self._intake.submit(submission)
        except InvalidSubmission as invalid:
            metrics.COMPLAINTS_SUBMITTED.labels(submission.channel or "unknown", "invalid").inc()
            raise PermanentFailure(f"invalid SubmitComplaintRequest: {invalid}") from invalid
        metrics.COMPLAINTS_SUBMITTED.labels(submission.channel, "accepted").inc()
        log.info("complaint_accepted", complaint_id=accepted.complaint_id, via="kafka")
