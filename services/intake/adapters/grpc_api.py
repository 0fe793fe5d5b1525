"""The gRPC IntakeService: protobuf in, the intake use case, protobuf (or rich error) out.

Every call is authenticated and authorised (``Guard``), admitted (``Admission``), given
a time budget inside the caller's deadline, and its outcome mapped to a status code with
the details a client can act on. Health and reflection are separate services: open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import grpc
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from kintsugi.common.grpc_observability import ObservabilityInterceptor
from kintsugi.common.logs import get_logger
from kintsugi.intake.v1 import intake_pb2, intake_pb2_grpc
from services.intake.adapters.activity_protos import activity_from_request
from services.intake.adapters.admission import Admission
from services.intake.adapters.auth import Guard
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

Context = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")


async def abort_with(context: Context, status: grpc.Status) -> NoReturn:
    await context.abort(status.code, status.details, status.trailing_metadata)
    raise AssertionError("abort returns only by raising")


class IntakeServicer(intake_pb2_grpc.IntakeServiceServicer):
    def __init__(
        self,
        intake: Intake,
        guard: Guard | None = None,
        admission: Admission | None = None,
        retry_after_s: float = 1.0,
    ) -> None:
        self._intake = intake
        self._guard = guard or Guard(None)
        self._admission = admission or Admission(max_in_flight=256, request_timeout_s=10.0)
        self._retry_after_s = retry_after_s

    async def SubmitComplaint(
        self, request: intake_pb2.SubmitComplaintRequest, context: Context
    ) -> intake_pb2.SubmitComplaintResponse:
        submission = submission_from_request(request)
        return await self._call(
            context,
            submission.source_system,
            "complaint",
            lambda: self._intake.submit(submission, via="grpc"),
        )

    async def RecordActivity(
        self, request: intake_pb2.RecordActivityRequest, context: Context
    ) -> intake_pb2.RecordActivityResponse:
        activity = activity_from_request(request)
        return await self._call(
            context,
            activity.source_system,
            "activity",
            lambda: self._intake.record_activity(activity, via="grpc"),
        )

    async def _call(
        self, context: Context, source_system: str, what: str, work: Callable[[], Awaitable[T]]
    ) -> T:
        refusal = self._guard.check(tuple(context.invocation_metadata() or ()), source_system)
        if refusal is not None:
            await context.abort(refusal.code, refusal.message)
        if not self._admission.try_enter():
            await abort_with(context, self._unavailable(f"too many {what} calls in flight; retry"))
        try:
            status = await self._outcome(context, what, work)
        finally:
            self._admission.leave()
        if isinstance(status, grpc.Status):
            await abort_with(context, status)
        return status

    async def _outcome(
        self, context: Context, what: str, work: Callable[[], Awaitable[T]]
    ) -> T | grpc.Status:
        """The response, or the status to abort with (aborting inside ``except Exception``
        would catch grpc's own abort)."""
        budget = self._admission.budget(context.time_remaining())
        if budget is None:
            return self._unavailable("the call's deadline leaves no time to record it")
        try:
            async with asyncio.timeout(budget):
                return await work()
        except InvalidRequest as invalid:
            return invalid_argument_status(invalid, what)
        except ComplaintNotFound as missing:
            return not_found_status(str(missing), missing.complaint_id)
        except AlreadyClaimed as conflict:
            resource = "complaint" if what == "complaint" else "activity"
            return already_exists_status(str(conflict), resource, conflict.key)
        except TimeoutError:
            log.warning("call_timed_out", what=what, budget_s=round(budget, 3))
            return self._unavailable(f"{what} could not be recorded in time (Kafka slow?)")
        except Exception:
            log.exception("call_failed", what=what)
            return self._unavailable(f"{what} could not be recorded")

    def _unavailable(self, why: str) -> grpc.Status:
        return unavailable_status(f"{why}; retrying the same request is safe", self._retry_after_s)


class GrpcServer:
    def __init__(
        self,
        intake: Intake,
        host: str,
        port: int,
        guard: Guard | None = None,
        admission: Admission | None = None,
        retry_after_s: float = 1.0,
    ) -> None:
        self._server = grpc.aio.server(interceptors=[ObservabilityInterceptor()])
        servicer = IntakeServicer(intake, guard, admission, retry_after_s)
        intake_pb2_grpc.add_IntakeServiceServicer_to_server(servicer, self._server)
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
