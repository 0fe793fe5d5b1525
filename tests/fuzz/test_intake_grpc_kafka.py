"""The intake gRPC API fuzzed against a real broker: an in-process server on 127.0.0.1
with the service's own ledger and publisher on Kafka. Every call gets a specific answer,
and the service still records a valid complaint - once - afterwards."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import grpc
import pytest
from hypothesis import given

from kintsugi.common.codec import event_type
from kintsugi.common.jurisdictions import calendar_ids
from kintsugi.common.kafka import EventPublisher, make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.timeutil import system_clock
from kintsugi.common.topics import COMPLAINT_EVENTS, INTAKE_SUBMISSIONS
from services.intake.adapters.admission import Admission
from services.intake.adapters.auth import Guard, TokenFile
from services.intake.adapters.grpc_api import GrpcServer
from services.intake.adapters.ledger_kafka import KafkaLedger
from services.intake.config import SLA_CALENDARS
from services.intake.domain.credentials import token_hash
from services.intake.domain.rules import InputRules
from services.intake.service import Intake, IntakeOptions, complaint_id_for
from tests.fuzz.intake_inputs import activity_requests, bodies, complaint_requests
from tests.fuzz.profile import scaled, tally
from tests.fuzz.test_intake_inputs import CRM_TOKEN, answer_to
from tests.integration.test_intake_auth import complaint
from tools.devstack.events import TopicTail

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def channel(
    kafka_settings: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[grpc.aio.Channel]:
    tokens = tmp_path_factory.mktemp("fuzz-kafka-tokens") / "tokens"
    tokens.write_bytes(f"crm {token_hash(CRM_TOKEN)}\n".encode())
    producer = make_producer(kafka_settings, "fuzz-intake")
    await producer.start()
    ledger = KafkaLedger(producer, kafka_settings, kafka_settings.topic(INTAKE_SUBMISSIONS))
    await ledger.start()
    intake = Intake(
        EventPublisher(producer, kafka_settings.topic(COMPLAINT_EVENTS)),
        ledger,
        system_clock,
        InputRules(calendar_ids(SLA_CALENDARS)),
        IntakeOptions(claim_wait_s=0.5),
    )
    server = GrpcServer(
        intake,
        "127.0.0.1",
        0,
        guard=Guard(TokenFile(tokens)),
        admission=Admission(max_in_flight=64, request_timeout_s=10),
    )
    await server.start()
    options = [("grpc.max_send_message_length", 8 * 1024 * 1024)]
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}", options=options) as ch:
            yield ch
    finally:
        await server.stop(1)
        await ledger.stop()
        await producer.stop()


@scaled(0.05)
@given(bodies(complaint_requests()))
async def test_every_submit_complaint_gets_a_specific_answer(
    channel: grpc.aio.Channel, body: bytes
) -> None:
    tally.case()
    await answer_to(channel, "SubmitComplaint", body)


@scaled(0.05)
@given(bodies(activity_requests()))
async def test_every_record_activity_gets_a_specific_answer(
    channel: grpc.aio.Channel, body: bytes
) -> None:
    tally.case()
    await answer_to(channel, "RecordActivity", body)


async def test_afterwards_a_valid_complaint_is_recorded_once(
    channel: grpc.aio.Channel, kafka_settings: KafkaSettings, unique: str
) -> None:
    since = time.time()
    request = complaint("crm", f"after-fuzz-{unique}").SerializeToString()

    assert await answer_to(channel, "SubmitComplaint", request) == grpc.StatusCode.OK
    assert await answer_to(channel, "SubmitComplaint", request) == grpc.StatusCode.OK

    complaint_id = complaint_id_for("crm", f"after-fuzz-{unique}")
    topic = kafka_settings.topic(COMPLAINT_EVENTS)
    async with TopicTail(kafka_settings, topic, since=since) as tail:
        seen = await tail.collect(
            lambda events: any(
                e.complaint_id == complaint_id and event_type(e) == "classified" for e in events
            ),
            timeout_s=20,
        )
    mine = [event_type(e) for e in seen if e.complaint_id == complaint_id]
    assert mine == ["received", "classified"]
