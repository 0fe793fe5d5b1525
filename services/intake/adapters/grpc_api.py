"""The gRPC IntakeService: protobuf in, the intake use case, protobuf (or rich error) out.

Every call is authenticated and authorised (``Guard``), admitted (``Admission``), given
a time budget inside the caller's deadline, and its outcome mapped to a status code with
the details a client can act on. Health and reflection are separate services: open.

Requests are bounded before they are parsed (``MAX_REQUEST_BYTES``: RESOURCE_EXHAUSTED
beyond it), and a body that is not the method's message (broken wire format, invalid
UTF-8 in a string) is INVALID_ARGUMENT naming the message type, like any other broken
rule, rather than grpc's UNKNOWN "Unexpected DecodeError".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from kintsugi.common import metrics
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
from services.intake.domain.rules import FieldViolation, InvalidRequest
from services.intake.service import AlreadyClaimed, ComplaintNotFound, Intake

log = get_logger(__name__)

SERVICE_NAME = intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].full_name

# The largest request body read: a valid request is far smaller (every field has a length
# limit, see the domain rules), and a call in flight holds its body in memory.
MAX_REQUEST_BYTES = 1024 * 1024

Context = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")
M = TypeVar("M", bound=Message)


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A request body that did not parse as the method's message."""

    message_type: str
    error: str

    def invalid(self) -> InvalidRequest:
        rule = f"must be a serialised {self.message_type}: {self.error}"
        return InvalidRequest([FieldViolation("(request)", rule)])


def tolerant_parser(message_class: type[M]) -> Callable[[bytes], M | Undecodable]:
    def parse(body: bytes) -> M | Undecodable:
        try:
            return message_class.FromString(body)
        except DecodeError as error:
            return Undecodable(message_class.DESCRIPTOR.full_name, str(error))

    return parse


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
        self, request: intake_pb2.SubmitComplaintRequest | Undecodable, context: Context
    ) -> intake_pb2.SubmitComplaintResponse:
        if isinstance(request, Undecodable):
            await self._refuse_undecodable(context, request, "complaint")
        return await self._call(
            context,
            request.source_system.strip(),
            "complaint",
            lambda: self._intake.submit(submission_from_request(request), via="grpc"),
        )

    async def RecordActivity(
        self, request: intake_pb2.RecordActivityRequest | Undecodable, context: Context
    ) -> intake_pb2.RecordActivityResponse:
        if isinstance(request, Undecodable):
            await self._refuse_undecodable(context, request, "activity")
        return await self._call(
            context,
            request.source_system.strip(),
            "activity",
            lambda: self._intake.record_activity(activity_from_request(request), via="grpc"),
        )

    async def _call(
        self, context: Context, source_system: str, what: str, work: Callable[[], Awaitable[T]]
    ) -> T:
        refusal = self._guard.check(tuple(context.invocation_metadata() or ()), source_system)
        if refusal is not None:
            await context.abort(refusal.code, refusal.message)
        if not self._admission.try_enter(source_system):
            await abort_with(context, self._unavailable(f"too many {what} calls in flight; retry"))
        try:
            status = await self._outcome(context, what, work)
        finally:
            self._admission.leave(source_system)
        if isinstance(status, grpc.Status):
            await abort_with(context, status)
        return status

    async def _refuse_undecodable(
        self, context: Context, request: Undecodable, what: str
    ) -> NoReturn:
        # Who is asking comes first: an unknown caller learns nothing about the API.
        refusal = self._guard.check(tuple(context.invocation_metadata() or ()), "")
        if refusal is not None:
            await context.abort(refusal.code, refusal.message)
        metrics.INTAKE_REQUESTS_REFUSED.labels("undecodable").inc()
        log.info("request_undecodable", what=what, error=request.error)
        await abort_with(context, invalid_argument_status(request.invalid(), what))

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
        self._server = grpc.aio.server(
            interceptors=[ObservabilityInterceptor()],
            options=[("grpc.max_receive_message_length", MAX_REQUEST_BYTES)],
        )
        servicer = IntakeServicer(intake, guard, admission, retry_after_s)
        _add_servicer(servicer, self._server)
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


def _add_servicer(servicer: IntakeServicer, server: grpc.aio.Server) -> None:
    """``add_IntakeServiceServicer_to_server``, with parsers that hand a broken body to the
    servicer (to answer INVALID_ARGUMENT) instead of raising inside grpc."""
    methods = {
        "SubmitComplaint": grpc.unary_unary_rpc_method_handler(
            servicer.SubmitComplaint,
            request_deserializer=tolerant_parser(intake_pb2.SubmitComplaintRequest),
            response_serializer=intake_pb2.SubmitComplaintResponse.SerializeToString,
        ),
        "RecordActivity": grpc.unary_unary_rpc_method_handler(
            servicer.RecordActivity,
            request_deserializer=tolerant_parser(intake_pb2.RecordActivityRequest),
            response_serializer=intake_pb2.RecordActivityResponse.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, methods),))
