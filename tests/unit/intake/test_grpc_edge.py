"""The gRPC edge over a real (local) gRPC server: status codes and the details a client can
act on, authentication, backpressure, and health and reflection open to all."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from grpc_status import rpc_status

from kintsugi.common.codec import Event
from kintsugi.intake.v1 import intake_pb2_grpc
from services.intake.adapters.admission import Admission
from services.intake.adapters.auth import Guard, TokenFile
from services.intake.adapters.grpc_api import GrpcServer
from services.intake.domain.credentials import token_hash
from services.intake.ledger import InMemoryLedger
from services.intake.service import Intake, IntakeOptions, complaint_id_for
from tests.unit.intake.activity_factories import an_activity_request
from tests.unit.intake.factories import NOW, RULES, a_request
from tests.unit.intake.fakes import RecordedEvents

CRM_TOKEN, WEBFORM_TOKEN = "crm-secret-1", "webform-secret-1"


class GatedEvents(RecordedEvents):
    """Kafka that can be made slow: publishing waits while the gate is closed."""

    def __init__(self) -> None:
        super().__init__()
        self.open = asyncio.Event()
        self.open.set()

    async def publish(self, *events: Event) -> None:
        await self.open.wait()
        await super().publish(*events)


@dataclass
class Edge:
    channel: grpc.aio.Channel
    events: GatedEvents
    tokens_file: Path

    @property
    def intake(self) -> intake_pb2_grpc.IntakeServiceStub:
        return intake_pb2_grpc.IntakeServiceStub(self.channel)


def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture
async def edge(tmp_path: Path) -> AsyncIterator[Edge]:
    tokens_file = tmp_path / "tokens"
    tokens_file.write_text(
        f"# source  sha256(token)\ncrm {token_hash(CRM_TOKEN)}\n"
        f"webform {token_hash(WEBFORM_TOKEN)}\n"
    )
    events = GatedEvents()
    intake = Intake(events, InMemoryLedger(), lambda: NOW, RULES, IntakeOptions(claim_wait_s=0.05))
    server = GrpcServer(
        intake,
        "127.0.0.1",
        0,
        guard=Guard(TokenFile(tokens_file)),
        admission=Admission(max_in_flight=2, request_timeout_s=5.0),
        retry_after_s=1.5,
    )
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield Edge(channel, events, tokens_file)
    await server.stop(0)


async def failure_of(call: asyncio.Future[Message] | object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call  # type: ignore[misc]
    return failed.value


def detail(error: grpc.aio.AioRpcError, kind: type[Message]) -> Message:
    status = rpc_status.from_call(error)
    assert status is not None, "no google.rpc.Status in the trailers"
    for packed in status.details:
        found = kind()
        if packed.Unpack(found):
            return found
    raise AssertionError(f"no {kind.__name__} among {[d.type_url for d in status.details]}")


class TestOutcomes:
    async def test_a_valid_complaint_is_answered_with_its_id(self, edge: Edge) -> None:
        response = await edge.intake.SubmitComplaint(a_request(), metadata=bearer(CRM_TOKEN))

        assert response.complaint_id == complaint_id_for("crm", "CASE-1001")

    async def test_invalid_input_is_invalid_argument_with_a_bad_request_per_field(
        self, edge: Edge
    ) -> None:
        request = a_request(jurisdiction="Narnia", subject="a\r\nb")

        error = await failure_of(edge.intake.SubmitComplaint(request, metadata=bearer(CRM_TOKEN)))

        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        bad_request = detail(error, error_details_pb2.BadRequest)
        assert isinstance(bad_request, error_details_pb2.BadRequest)
        assert [v.field for v in bad_request.field_violations] == ["jurisdiction", "subject"]

    async def test_other_content_under_a_used_reference_is_already_exists_naming_the_complaint(
        self, edge: Edge
    ) -> None:
        await edge.intake.SubmitComplaint(a_request(), metadata=bearer(CRM_TOKEN))

        error = await failure_of(
            edge.intake.SubmitComplaint(
                a_request(description="Something else"), metadata=bearer(CRM_TOKEN)
            )
        )

        assert error.code() == grpc.StatusCode.ALREADY_EXISTS
        complaint_id = complaint_id_for("crm", "CASE-1001")
        assert complaint_id in (error.details() or "")
        info = detail(error, error_details_pb2.ResourceInfo)
        assert isinstance(info, error_details_pb2.ResourceInfo)
        assert (info.resource_type, info.resource_name) == ("complaint", complaint_id)

    async def test_activity_on_an_unknown_complaint_is_not_found(self, edge: Edge) -> None:
        error = await failure_of(
            edge.intake.RecordActivity(an_activity_request(), metadata=bearer(CRM_TOKEN))
        )

        assert error.code() == grpc.StatusCode.NOT_FOUND


class TestAuthentication:
    @pytest.mark.parametrize(
        "metadata",
        [(), (("authorization", "Bearer "),), (("authorization", "Basic abc"),), bearer("x")],
        ids=["none", "empty", "not-bearer", "unknown"],
    )
    async def test_missing_or_unknown_credentials_are_unauthenticated_and_nothing_recorded(
        self, edge: Edge, metadata: tuple[tuple[str, str], ...]
    ) -> None:
        for call in (
            edge.intake.SubmitComplaint(a_request(), metadata=metadata),
            edge.intake.RecordActivity(an_activity_request(), metadata=metadata),
        ):
            assert (await failure_of(call)).code() == grpc.StatusCode.UNAUTHENTICATED
        assert edge.events.events == []

    async def test_a_source_acting_for_another_sources_references_is_permission_denied(
        self, edge: Edge
    ) -> None:
        for call in (
            edge.intake.SubmitComplaint(a_request(), metadata=bearer(WEBFORM_TOKEN)),
            edge.intake.RecordActivity(an_activity_request(), metadata=bearer(WEBFORM_TOKEN)),
        ):
            error = await failure_of(call)
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "'webform'" in (error.details() or "")
        assert edge.events.events == []

    async def test_a_rotated_token_works_at_once_and_the_revoked_one_stops_without_restart(
        self, edge: Edge
    ) -> None:
        await edge.intake.SubmitComplaint(a_request(), metadata=bearer(CRM_TOKEN))
        new_file = edge.tokens_file.with_suffix(".new")
        new_file.write_text(f"crm {token_hash('crm-secret-2')}\n")
        new_file.replace(edge.tokens_file)  # as a secret volume swaps its files

        accepted = await edge.intake.SubmitComplaint(a_request(), metadata=bearer("crm-secret-2"))
        revoked = await failure_of(
            edge.intake.SubmitComplaint(a_request(), metadata=bearer(CRM_TOKEN))
        )

        assert accepted.complaint_id == complaint_id_for("crm", "CASE-1001")
        assert revoked.code() == grpc.StatusCode.UNAUTHENTICATED

    async def test_a_broken_tokens_file_keeps_the_last_good_tokens(self, edge: Edge) -> None:
        edge.tokens_file.write_text("crm not-a-hash\n")

        response = await edge.intake.SubmitComplaint(a_request(), metadata=bearer(CRM_TOKEN))

        assert response.complaint_id

    async def test_health_and_reflection_need_no_token(self, edge: Edge) -> None:
        health = await health_pb2_grpc.HealthStub(edge.channel).Check(
            health_pb2.HealthCheckRequest(service="kintsugi.intake.v1.IntakeService")
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        for version in ("v1", "v1alpha"):
            assert "kintsugi.intake.v1.IntakeService" in await listed_services(edge, version)


async def listed_services(edge: Edge, version: str) -> list[str]:
    """List services over grpc.reflection.<version> (v1 and v1alpha share the wire format)."""
    call = edge.channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )()
    await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
    await call.done_writing()
    response = await call.read()
    assert isinstance(response, reflection_pb2.ServerReflectionResponse)
    return [s.name for s in response.list_services_response.service]


async def test_reflection_v1_describes_the_intake_service(edge: Edge) -> None:
    call = edge.channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )()
    for symbol in ("kintsugi.intake.v1.IntakeService", "grpc.reflection.v1.ServerReflection"):
        await call.write(reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol))
        response = await call.read()
        assert isinstance(response, reflection_pb2.ServerReflectionResponse)
        assert response.file_descriptor_response.file_descriptor_proto, symbol
    await call.done_writing()


class TestBackpressure:
    async def test_when_kafka_is_slow_the_caller_hears_unavailable_before_its_deadline(
        self, edge: Edge
    ) -> None:
        edge.events.open.clear()
        started = time.monotonic()

        error = await failure_of(
            edge.intake.SubmitComplaint(a_request(), metadata=bearer(CRM_TOKEN), timeout=1.0)
        )

        assert error.code() == grpc.StatusCode.UNAVAILABLE  # not DEADLINE_EXCEEDED
        assert time.monotonic() - started < 1.0
        retry = detail(error, error_details_pb2.RetryInfo)
        assert isinstance(retry, error_details_pb2.RetryInfo)
        assert retry.retry_delay.ToMilliseconds() == 1500
        assert edge.events.events == []

        edge.events.open.set()  # Kafka is back: the same request now succeeds, once
        response = await edge.intake.SubmitComplaint(
            a_request(), metadata=bearer(CRM_TOKEN), timeout=1.0
        )
        assert [e.complaint_id for e in edge.events.events] == [response.complaint_id] * 2

    async def test_calls_beyond_the_in_flight_limit_are_refused_at_once_with_a_retry_hint(
        self, edge: Edge
    ) -> None:
        edge.events.open.clear()
        stuck = [
            asyncio.ensure_future(
                edge.intake.SubmitComplaint(
                    a_request(source_reference=f"R-{n}"), metadata=bearer(CRM_TOKEN), timeout=5
                )
            )
            for n in range(2)
        ]
        await asyncio.sleep(0.2)

        error = await failure_of(
            edge.intake.SubmitComplaint(a_request(), metadata=bearer(CRM_TOKEN), timeout=5)
        )

        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert "in flight" in (error.details() or "")
        assert isinstance(detail(error, error_details_pb2.RetryInfo), error_details_pb2.RetryInfo)
        edge.events.open.set()
        assert all(r.complaint_id for r in await asyncio.gather(*stuck))

    async def test_a_deadline_too_short_to_record_anything_is_refused_untouched(
        self, edge: Edge
    ) -> None:
        error = await failure_of(
            edge.intake.SubmitComplaint(a_request(), metadata=bearer(CRM_TOKEN), timeout=0.1)
        )

        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert "deadline" in (error.details() or "")
        assert edge.events.events == []
