"""The gRPC IntakeService: protobuf in, domain use case, protobuf (or rich error) out."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from kintsugi.common import metrics
from kintsugi.common.grpc_observability import ObservabilityInterceptor
from kintsugi.common.logs import get_logger
from kintsugi.intake.v1 import intake_pb2, intake_pb2_grpc
from services.intake.adapters.protos import response_for, submission_from_request
from services.intake.domain.submission import InvalidSubmission
from services.intake.service import Intake

log = get_logger(__name__)

SERVICE_NAME = intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].full_name


def invalid_argument_status(invalid: InvalidSubmission) -> grpc.Status:
    """INVALID_ARGUMENT carrying a google.rpc.BadRequest with one violation per rule."""
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.rule)
            for v in invalid.violations
        ]
    )
    detail = any_pb2.Any()
    detail.Pack(bad_request)
    status = status_pb2.Status(
        code=code_pb2.INVALID_ARGUMENT, message=f"invalid complaint: {invalid}", details=[detail]
    )
    return rpc_status.to_status(status)


class IntakeServicer(intake_pb2_grpc.IntakeServiceServicer):
    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    async def SubmitComplaint(
        self,
        request: intake_pb2.SubmitComplaintRequest,
        context: grpc.aio.ServicerContext[
            intake_pb2.SubmitComplaintRequest, intake_pb2.SubmitComplaintResponse
        ],
    ) -> intake_pb2.SubmitComplaintResponse:
        submission = submission_from_request(request)
        try:
            accepted = await self._intake.submit(submission)
        except InvalidSubmission as invalid:
            metrics.COMPLAINTS_SUBMITTED.labels(submission.channel or "unknown", "invalid").inc()
            log.info("complaint_rejected", violations=[v.field for v in invalid.violations])
            status = invalid_argument_status(invalid)
            await context.abort(status.code, status.details, status.trailing_metadata)
        except Exception:
            metrics.COMPLAINTS_SUBMITTED.labels(submission.channel or "unknown", "failed").inc()
            log.exception("complaint_not_recorded")
            await context.abort(
                grpc.StatusCode.UNAVAILABLE,
                "complaint could not be recorded; retry with the same ids",
            )
        metrics.COMPLAINTS_SUBMITTED.labels(submission.channel, "accepted").inc()
        log.info(
            "complaint_accepted",
            complaint_id=accepted.complaint_id,
            source_reference=submission.source_reference,
            category=accepted.classification.category,
            severity=accepted.classification.severity,
            regime=accepted.classification.regime,
        )
        return response_for(accepted)


class GrpcServer:
    def __init__(self, intake: Intake, host: str, port: int) -> None:
        self._server = grpc.aio.server(interceptors=[ObservabilityInterceptor()])
        intake_pb2_grpc.add_IntakeServiceServicer_to_server(IntakeServicer(intake), self._server)
        self.health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self._server
        )
        self.port = self._server.add_insecure_port(f"{host}:{port}")
        self.serving = False

    async def start(self) -> None:
        await self._server.start()
        for service in ("", SERVICE_NAME):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        self.serving = True

    async def stop(self, grace_s: float) -> None:
        """Refuse new calls, let in-flight ones finish (up to ``grace_s``)."""
        self.serving = False
        await self.health.enter_graceful_shutdown()
        await self._server.stop(grace_s)
