"""Authentication of upstream sources on a real intake process (tokens file from the
environment, rotated while it runs); health and reflection stay open."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.timeutil import to_timestamp
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2, intake_pb2_grpc
from services.intake.domain.credentials import token_hash
from tools.devstack.processes import StackConfig, free_port, start_service


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret" / "tokens"
    path.parent.mkdir()
    path.write_text(f"crm {token_hash('crm-1')}\nwebform {token_hash('web-1')}\n")
    return path


@pytest.fixture
def intake_port(
    kafka_settings: KafkaSettings,
    tokens_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[int]:
    monkeypatch.setenv("KINTSUGI_INTAKE_TOKENS_FILE", str(tokens_file))
    config = StackConfig(
        bootstrap_servers=kafka_settings.bootstrap_servers,
        smtp_port=0,
        grpc_port=free_port(),
        ops_ports={"intake": free_port()},
        topic_prefix=kafka_settings.topic_prefix,
    )
    process = start_service("intake", config, tmp_path / "logs")
    try:
        process.wait_ready()
        yield config.grpc_port
    finally:
        process.stop()


def complaint(source_system: str, reference: str) -> intake_pb2.SubmitComplaintRequest:
    return intake_pb2.SubmitComplaintRequest(
        source_system=source_system,
        source_reference=reference,
        customer=pb.Customer(customer_id="c-1", display_name="Ada Lovelace", email="a@example.com"),
        channel=pb.CHANNEL_EMAIL,
        description="I was charged a fee twice.",
        jurisdiction="GB-ENG",
        received_at=to_timestamp(datetime.now(UTC) - timedelta(hours=1)),
    )


async def code_of(
    stub: intake_pb2_grpc.IntakeServiceStub,
    request: intake_pb2.SubmitComplaintRequest,
    token: str | None,
) -> grpc.StatusCode:
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    try:
        await stub.SubmitComplaint(request, metadata=metadata, timeout=15)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_sources_are_authenticated_authorised_and_tokens_rotate_without_restart(
    intake_port: int, tokens_file: Path, unique: str
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{intake_port}") as channel:
        stub = intake_pb2_grpc.IntakeServiceStub(channel)
        crm = complaint("crm", unique)

        assert await code_of(stub, crm, None) == grpc.StatusCode.UNAUTHENTICATED
        assert await code_of(stub, crm, "guess") == grpc.StatusCode.UNAUTHENTICATED
        assert await code_of(stub, crm, "web-1") == grpc.StatusCode.PERMISSION_DENIED
        assert await code_of(stub, crm, "crm-1") == grpc.StatusCode.OK

        # Rotation: the secret is replaced as Kubernetes does it (atomic rename).
        rotated = tokens_file.with_name("tokens.new")
        rotated.write_text(f"crm {token_hash('crm-2')}\nwebform {token_hash('web-1')}\n")
        rotated.replace(tokens_file)
        assert await code_of(stub, crm, "crm-2") == grpc.StatusCode.OK
        assert await code_of(stub, crm, "crm-1") == grpc.StatusCode.UNAUTHENTICATED

        health = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="kintsugi.intake.v1.IntakeService")
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        for version in ("v1", "v1alpha"):
            call = channel.stream_stream(
                f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
                request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
            )()
            await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
            await call.done_writing()
            response = await call.read()
            assert isinstance(response, reflection_pb2.ServerReflectionResponse)
            services = {s.name for s in response.list_services_response.service}
            assert {"kintsugi.intake.v1.IntakeService", "grpc.health.v1.Health"} <= services


def activity(
    source_system: str, reference: str, activity_reference: str
) -> intake_pb2.RecordActivityRequest:
    return intake_pb2.RecordActivityRequest(
        source_system=source_system,
        source_reference=reference,
        activity_reference=activity_reference,
        occurred_at=to_timestamp(datetime.now(UTC) - timedelta(minutes=5)),
        actor_id="h-1",
        note=intake_pb2.InternalNote(text="Called the customer back."),
    )


async def activity_code_of(
    stub: intake_pb2_grpc.IntakeServiceStub,
    request: intake_pb2.RecordActivityRequest,
    metadata: tuple[tuple[str, str], ...],
) -> grpc.StatusCode:
    try:
        await stub.RecordActivity(request, metadata=metadata, timeout=15)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_activities_need_the_token_of_their_own_source_and_reach_no_other_complaint(
    intake_port: int, tokens_file: Path, unique: str
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{intake_port}") as channel:
        stub = intake_pb2_grpc.IntakeServiceStub(channel)
        assert await code_of(stub, complaint("crm", unique), "crm-1") == grpc.StatusCode.OK
        note = activity("crm", unique, f"{unique}-note")

        def bearer(token: str) -> tuple[tuple[str, str], ...]:
            return (("authorization", f"Bearer {token}"),)

        refused = {
            "no token": (),
            "unknown token": bearer("crm-1-guessed"),
            "empty bearer": (("authorization", "Bearer "),),
            "another scheme": (("authorization", "Basic Y3JtOmNybS0x"),),
            "token without scheme": (("authorization", "crm-1"),),
        }
        for why, metadata in refused.items():
            code = await activity_code_of(stub, note, metadata)
            assert code == grpc.StatusCode.UNAUTHENTICATED, why
        # The webform's token, acting for the CRM's complaint: refused as such...
        assert await activity_code_of(stub, note, bearer("web-1")) == (
            grpc.StatusCode.PERMISSION_DENIED
        )
        # ...and under its own name the CRM's reference is another (unknown) complaint.
        as_webform = activity("webform", unique, f"{unique}-note")
        assert await activity_code_of(stub, as_webform, bearer("web-1")) == (
            grpc.StatusCode.NOT_FOUND
        )
        assert await activity_code_of(stub, note, bearer("crm-1")) == grpc.StatusCode.OK

        # A rotated-out token stops working for activities too, at once.
        rotated = tokens_file.with_name("tokens.new")
        rotated.write_text(f"crm {token_hash('crm-2')}\nwebform {token_hash('web-1')}\n")
        rotated.replace(tokens_file)
        later = activity("crm", unique, f"{unique}-later")
        assert await activity_code_of(stub, later, bearer("crm-1")) == (
            grpc.StatusCode.UNAUTHENTICATED
        )
        assert await activity_code_of(stub, later, bearer("crm-2")) == grpc.StatusCode.OK

        # A body that is not a request at all tells an unknown caller nothing more.
        raw = channel.unary_unary(
            "/kintsugi.intake.v1.IntakeService/SubmitComplaint",
            request_serializer=lambda body: body,
            response_deserializer=lambda body: body,
        )
        for metadata, expected in (
            ((), grpc.StatusCode.UNAUTHENTICATED),
            (bearer("crm-2"), grpc.StatusCode.INVALID_ARGUMENT),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await raw(b"\x0a\x02\xff\xfe", metadata=metadata, timeout=15)
            assert failed.value.code() == expected

        # Health needs no token, whatever the state of the tokens file.
        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert health.status == health_pb2.HealthCheckResponse.SERVING
