"""Bad input at the gRPC edge (a real local gRPC server over in-memory Kafka ports): bodies
too large, not protobuf, not UTF-8, nested without end, times no calendar holds, fields
past their limits, and one source flooding the API. Each gets a specific answer, memory
stays bounded (the body limit times the calls in flight), and other sources go on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from kintsugi.common.codec import Event
from services.intake.adapters.admission import Admission
from services.intake.adapters.auth import Guard, TokenFile
from services.intake.adapters.grpc_api import MAX_REQUEST_BYTES, GrpcServer
from services.intake.domain.credentials import token_hash
from services.intake.ledger import InMemoryLedger
from services.intake.service import Intake, IntakeOptions
from tests.unit.intake.activity_factories import an_activity_request
from tests.unit.intake.factories import NOW, RULES, a_request
from tests.unit.intake.fakes import RecordedEvents
from tests.waiting import eventually

TOKENS = {"crm": "crm-token-1", "webform": "webform-token-1"}


class GatedEvents(RecordedEvents):
    """Kafka that can be made to hold every publish until the gate opens."""

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
    admission: Admission

    async def call(
        self, method: str, body: bytes, source: str = "crm"
    ) -> grpc.aio.AioRpcError | bytes:
        raw = self.channel.unary_unary(
            f"/kintsugi.intake.v1.IntakeService/{method}",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        metadata = (("authorization", f"Bearer {TOKENS[source]}"),)
        try:
            response: bytes = await raw(body, metadata=metadata, timeout=10)
        except grpc.aio.AioRpcError as error:
            return error
        return response


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens"
    path.write_text("".join(f"{s} {token_hash(t)}\n" for s, t in TOKENS.items()))
    return path


@pytest.fixture
async def edge(tokens_file: Path) -> AsyncIterator[Edge]:
    events = GatedEvents()
    intake = Intake(events, InMemoryLedger(), lambda: NOW, RULES, IntakeOptions(claim_wait_s=0.05))
    admission = Admission(max_in_flight=8, request_timeout_s=5.0, max_in_flight_per_source=2)
    server = GrpcServer(
        intake, "127.0.0.1", 0, guard=Guard(TokenFile(tokens_file)), admission=admission
    )
    await server.start()
    options = [("grpc.max_send_message_length", 16 * 1024 * 1024)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}", options=options) as channel:
        yield Edge(channel, events, admission)
    await server.stop(0)


def violations(error: grpc.aio.AioRpcError | bytes) -> dict[str, str]:
    assert isinstance(error, grpc.aio.AioRpcError), "answered OK"
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    status = rpc_status.from_call(error)
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert any(detail.Unpack(bad_request) for detail in status.details)
    return {v.field: v.description for v in bad_request.field_violations}


@pytest.mark.parametrize("size", [MAX_REQUEST_BYTES + 1, 10 * MAX_REQUEST_BYTES])
async def test_a_body_over_the_limit_is_resource_exhausted_unread_and_the_next_call_succeeds(
    edge: Edge, size: int
) -> None:
    too_big = a_request(description="x" * size).SerializeToString()

    refused = await edge.call("SubmitComplaint", too_big)

    assert isinstance(refused, grpc.aio.AioRpcError)
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert edge.events.events == []
    assert isinstance(await edge.call("SubmitComplaint", a_request().SerializeToString()), bytes)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"\x0a\x04cr\xffm", "String field had bad UTF-8"),  # source_system, invalid UTF-8
        (b"\xff\xff\xff\xff", "Wire format was corrupt"),
        (b"\x5b" * 2_000 + b"\x5c" * 2_000, ""),  # groups nested 2,000 deep
    ],
    ids=["invalid-utf8", "not-protobuf", "nested-2000-deep"],
)
@pytest.mark.parametrize("method", ["SubmitComplaint", "RecordActivity"])
async def test_a_body_that_is_not_the_request_is_invalid_argument_naming_its_type(
    edge: Edge, method: str, body: bytes, why: str
) -> None:
    named = violations(await edge.call(method, body))

    wanted = {
        "SubmitComplaint": "SubmitComplaintRequest",
        "RecordActivity": "RecordActivityRequest",
    }
    assert list(named) == ["(request)"]
    assert f"must be a serialised kintsugi.intake.v1.{wanted[method]}" in named["(request)"]
    assert why in named["(request)"]


async def test_times_no_calendar_holds_are_invalid_arguments_naming_the_field(edge: Edge) -> None:
    complaint = a_request()
    complaint.received_at.CopyFrom(Timestamp(seconds=2**62))
    activity = an_activity_request()
    activity.occurred_at.CopyFrom(Timestamp(seconds=0, nanos=-1))

    named = violations(await edge.call("SubmitComplaint", complaint.SerializeToString()))
    assert "received_at" in named
    named = violations(await edge.call("RecordActivity", activity.SerializeToString()))
    assert "occurred_at" in named


async def test_every_field_past_its_length_limit_is_named(edge: Edge) -> None:
    request = a_request(subject="s" * 501, product="p" * 129)
    request.customer.display_name = "n" * 201
    request.customer.customer_id = "c" * 129
    request.customer.preferred_language = "en-" + "-".join(["abcdefgh"] * 20)
    request.attributes.clear()
    request.attributes.update({f"k{n}": "v" for n in range(33)})

    named = violations(await edge.call("SubmitComplaint", request.SerializeToString()))

    assert {
        "subject",
        "product",
        "customer.display_name",
        "customer.customer_id",
        "customer.preferred_language",
        "attributes",
    } <= set(named)
    assert edge.events.events == []


async def test_one_source_flooding_the_api_leaves_room_for_the_others(edge: Edge) -> None:
    edge.events.open.clear()  # Kafka slow: every call that gets in stays in flight
    flood = [
        asyncio.ensure_future(
            edge.call("SubmitComplaint", a_request(source_reference=f"F-{n}").SerializeToString())
        )
        for n in range(6)
    ]
    await eventually(lambda: sum(call.done() for call in flood) == 4)  # refused at once
    admitted = [call for call in flood if not call.done()]
    refused = [call.result() for call in flood if call.done()]
    webform = a_request(source_system="webform", source_reference="W-1")
    other = asyncio.ensure_future(
        edge.call("SubmitComplaint", webform.SerializeToString(), source="webform")
    )
    await eventually(lambda: edge.admission.by_source.get("webform") == 1)

    assert edge.admission.by_source == {"crm": 2, "webform": 1}
    for error in refused:
        assert isinstance(error, grpc.aio.AioRpcError)
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        status = rpc_status.from_call(error)
        assert status is not None
        assert any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details)
    edge.events.open.set()
    assert isinstance(await other, bytes)  # the other source got in, and through
    assert all(isinstance(answer, bytes) for answer in await asyncio.gather(*admitted))
    assert edge.admission.by_source == {} and edge.admission.in_flight == 0


def test_the_in_flight_share_of_a_source_is_released_on_leave() -> None:
    admission = Admission(max_in_flight=3, request_timeout_s=1, max_in_flight_per_source=1)

    assert admission.try_enter("crm") and not admission.try_enter("crm")
    assert admission.try_enter("webform") and admission.try_enter("branch")
    assert not admission.try_enter("contact-centre")  # the service's limit still holds
    for source in ("crm", "webform", "branch"):
        admission.leave(source)
    assert admission.in_flight == 0 and admission.by_source == {}
    assert admission.try_enter("crm")


@pytest.mark.parametrize(("entries", "value_chars"), [(32, 600), (10_000, 1)])
async def test_a_request_breaking_many_rules_still_hears_which_within_the_trailers(
    edge: Edge, entries: int, value_chars: int
) -> None:
    # Keys and values with control characters: a rule broken per entry, past every limit.
    request = a_request(subject="\x01" * 501, product="\x01" * 129)
    request.attributes.clear()
    request.attributes.update(
        {f"{n:05d}\x01é".ljust(64, "\x02"): "\n" * value_chars for n in range(entries)}
    )

    named = violations(await edge.call("SubmitComplaint", request.SerializeToString()))

    assert {"subject", "product"} <= set(named)
    if entries > 32:
        assert named["attributes"] == "at most 32 entries"
    else:
        assert "(more)" in named  # as many as fit, then how many more
