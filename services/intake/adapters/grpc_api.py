"""The gRPC IntakeService: protobuf in, the intake use case, protobuf (or rich error) out."""

from __future__ import annotations

from typing import Any, NoReturn

import grpc
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from kintsugi.common.grpc_observability import ObservabilityInterceptor
from kintsugi.common.logs import get_logger
from kintsugi.intake.v1 import intake_pb2, intake_pb2_grpc
from services.intake.adapters.activity_protos import activity_from_request
from services.intake.adapters.grpc_errors import (
    already_exists_status,
    invalid_argument_status,
    not_found_status,
    unavailable_status,
)
from services.intake.adapters.protos import submission_from_request
from services.intake.adapters.reflection import enable_reflection
from services.intake.domain.rules import InvalidRequest
from services.intake.service import AlreadyClaimed, ComplaintNotFound, Intake

log = get_logger(__name__)

SERVICE_NAME = intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].full_name
RETRY_AFTER_S = 1.0

Context = grpc.aio.ServicerContext[Any, Any]


async def abort_with(context: Context, status: grpc.Status) -> NoReturn:
    await context.abort(status.code, status.details, status.trailing_metadata)
    raise AssertionError("abort returns only by raising")


class IntakeServicer(intake_pb2_grpc.IntakeServiceServicer):
    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    async def SubmitComplaint(
        self, request: intake_pb2.SubmitComplaintRequest, context: Context
    ) -> intake_pb2.SubmitComplaintResponse:
        submission = submission_from_request(request)
        try:
            return await self._intake.submit(submission, via="grpc")
        except InvalidRequest as invalid:
            await abort_with(context, invalid_argument_status(invalid))
        except AlreadyClaimed as conflict:
            await abort_with(
                context, already_exists_status(str(conflict), "complaint", conflict.complaint_id)
            )
        except Exception:
            log.exception("complaint_not_recorded")
            await abort_with(
                context,
                unavailable_status(
                    "complaint could not be recorded; retry with the same request",
                    RETRY_AFTER_S,
                ),
            )

    async def RecordActivity(
        self, request: intake_pb2.RecordActivityRequest, context: Context
    ) -> intake_pb2.RecordActivityResponse:
        activity = activity_from_request(request)
        try:
            return await self._intake.record_activity(activity, via="grpc")
        except InvalidRequest as invalid:
            await abort_with(context, invalid_argument_status(invalid, "activity"))
        except ComplaintNotFound as missing:
            await abort_with(context, not_found_status(str(missing), missing.complaint_id))
        except AlreadyClaimed as conflict:
            await abort_with(
                context, already_exists_status(str(conflict), "activity", conflict.key)
            )
        except Exception:
            log.exception("activity_not_recorded")
            await abort_with(
                context,
                unavailable_status(
                    "activity could not be recorded; retry with the same request", RETRY_AFTER_S
                ),
            )


class GrpcServer:
    def __init__(self, intake: Intake, host: str, port: int) -> None:
        self._server = grpc.aio.server(interceptors=[ObservabilityInterceptor()])
        intake_pb2_grpc.add_IntakeServiceServicer_to_server(IntakeServicer(intake), self._server)
        self.health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        enable_reflection((SERVICE_NAME, health.SERVICE_NAME), self._server)
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
