"""Fuzzing intake's inputs: the raw topics (decoder and handler, as the consumer runs
them) and the gRPC API (an in-process server on 127.0.0.1 over in-memory Kafka ports; the
same against a real broker is in ``test_intake_grpc_kafka``). Every input gets an answer
that says what to do: a response, a specific status with its details, or a dead letter
with the reason; and a valid request still succeeds afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import given
from hypothesis import strategies as st

from services.intake.adapters.admission import Admission
from services.intake.adapters.auth import Guard, TokenFile
from services.intake.adapters.grpc_api import GrpcServer
from services.intake.adapters.raw_topic import (
    RawActivityHandler,
    RawComplaintHandler,
    decode_activity,
    decode_request,
)
from services.intake.domain.credentials import token_hash
from services.intake.ledger import InMemoryLedger
from services.intake.service import Intake, IntakeOptions
from tests.fuzz.consumers import (
    Record,
    RecordingProducer,
    assert_each_handled_skipped_or_dead_lettered_with_a_reason,
    consume,
)
from tests.fuzz.intake_inputs import activity_requests, bodies, complaint_requests
from tests.fuzz.profile import scaled, tally
from tests.unit.intake.activity_factories import an_activity_request
from tests.unit.intake.factories import NOW, RULES, a_request
from tests.unit.intake.fakes import RecordedEvents

OPTIONS = IntakeOptions(claim_wait_s=0.01)
CRM_TOKEN = "crm-fuzz-token"
# Answers that tell an upstream system what to do; UNKNOWN, INTERNAL (a crash) or
# UNAVAILABLE (nothing here is slow) would not.
ANSWERS = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.PERMISSION_DENIED,  # a request naming another source than the token's
    grpc.StatusCode.RESOURCE_EXHAUSTED,  # larger than MAX_REQUEST_BYTES
}


async def an_intake_with_one_complaint() -> Intake:
    intake = Intake(RecordedEvents(), InMemoryLedger(), lambda: NOW, RULES, OPTIONS)
    await RawComplaintHandler(intake)(a_request())  # CASE-1001, which activities name
    return intake


def records(values: list[bytes]) -> list[Record]:
    return [Record("raw", 0, offset, b"k", value) for offset, value in enumerate(values)]


@scaled(0.5)
@given(st.lists(bodies(complaint_requests()), min_size=1, max_size=4))
async def test_the_raw_complaint_topic_handles_or_dead_letters_every_record(
    values: list[bytes],
) -> None:
    tally.case()
    intake = await an_intake_with_one_complaint()
    producer = RecordingProducer()

    outcomes = await consume(records(values), decode_request, RawComplaintHandler(intake), producer)

    assert_each_handled_skipped_or_dead_lettered_with_a_reason(outcomes, producer)


@scaled(0.5)
@given(st.lists(bodies(activity_requests()), min_size=1, max_size=4))
async def test_the_raw_activity_topic_handles_or_dead_letters_every_record(
    values: list[bytes],
) -> None:
    tally.case()
    intake = await an_intake_with_one_complaint()
    producer = RecordingProducer()

    outcomes = await consume(records(values), decode_activity, RawActivityHandler(intake), producer)

    # An activity before its complaint is retried by design (it may be on its way).
    assert_each_handled_skipped_or_dead_lettered_with_a_reason(
        outcomes, producer, retried_on=("ComplaintNotFound",)
    )


@pytest.fixture(scope="module")
def tokens_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tokens = tmp_path_factory.mktemp("fuzz-tokens") / "tokens"
    tokens.write_text(f"crm {token_hash(CRM_TOKEN)}\n")
    return tokens


@pytest.fixture(scope="module")
async def channel(tokens_file: Path) -> AsyncIterator[grpc.aio.Channel]:
    server = GrpcServer(
        await an_intake_with_one_complaint(),
        "127.0.0.1",
        0,
        guard=Guard(TokenFile(tokens_file)),
        admission=Admission(max_in_flight=64, request_timeout_s=5),
    )
    await server.start()
    options = [("grpc.max_send_message_length", 8 * 1024 * 1024)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}", options=options) as channel:
        yield channel
    await server.stop(0)


async def answer_to(channel: grpc.aio.Channel, method: str, body: bytes) -> grpc.StatusCode:
    """Send ``body`` as it is; check the answer carries what its status code promises."""
    call = channel.unary_unary(
        f"/kintsugi.intake.v1.IntakeService/{method}",
        request_serializer=lambda raw: raw,
        response_deserializer=lambda raw: raw,
    )
    try:
        await call(body, metadata=(("authorization", f"Bearer {CRM_TOKEN}"),), timeout=30)
    except grpc.aio.AioRpcError as error:
        code = error.code()
        assert code in ANSWERS, (code, error.details())
        assert error.details()
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            status = rpc_status.from_call(error)
            assert status is not None
            bad_request = error_details_pb2.BadRequest()
            assert any(detail.Unpack(bad_request) for detail in status.details)
            assert all(v.field and v.description for v in bad_request.field_violations)
            assert bad_request.field_violations
        return code
    return grpc.StatusCode.OK


@scaled(0.5)
@given(bodies(complaint_requests()))
async def test_every_submit_complaint_gets_a_specific_answer(
    channel: grpc.aio.Channel, body: bytes
) -> None:
    tally.case()
    await answer_to(channel, "SubmitComplaint", body)


@scaled(0.5)
@given(bodies(activity_requests()))
async def test_every_record_activity_gets_a_specific_answer(
    channel: grpc.aio.Channel, body: bytes
) -> None:
    tally.case()
    await answer_to(channel, "RecordActivity", body)


async def test_after_the_fuzzing_a_valid_request_still_succeeds(
    channel: grpc.aio.Channel,
) -> None:
    # Runs after the two above (same module, same server): the service kept going.
    resubmitted = await answer_to(channel, "SubmitComplaint", a_request().SerializeToString())
    activity = an_activity_request("ACT-after-fuzz").SerializeToString()

    assert resubmitted == grpc.StatusCode.OK
    assert await answer_to(channel, "RecordActivity", activity) == grpc.StatusCode.OK


async def test_a_raw_request_with_thousands_of_repeated_entries_is_dead_lettered_naming_them() -> (
    None
):
    intake = await an_intake_with_one_complaint()
    producer = RecordingProducer()
    request = a_request(source_reference="MANY", subject="s" * 600)
    request.attributes.update({f"k{n}": "v" for n in range(10_000)})

    outcomes = await consume(
        records([request.SerializeToString()]),
        decode_request,
        RawComplaintHandler(intake),
        producer,
    )

    [(kind, letter)] = producer.dead_letters()
    assert outcomes == ["dead_lettered"] and kind == "permanent"
    assert "attributes: at most 32 entries" in letter.reason
    assert "subject: at most 500 characters" in letter.reason
