"""The intake gRPC API on a real broker: events on the topic, rich errors, idempotency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from prometheus_client import REGISTRY

from kintsugi.common.codec import event_type
from kintsugi.common.jurisdictions import calendar_ids
from kintsugi.common.kafka import EventPublisher, make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.timeutil import system_clock
from kintsugi.common.topics import COMPLAINT_EVENTS, INTAKE_SUBMISSIONS
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2, intake_pb2_grpc
from services.intake.adapters.grpc_api import GrpcServer
from services.intake.adapters.ledger_kafka import KafkaLedger
from services.intake.config import SLA_CALENDARS
from services.intake.domain.rules import InputRules
from services.intake.service import Intake, complaint_id_for
from tools.devstack.events import TopicTail


@pytest.fixture
async def intake_channel(kafka_settings: KafkaSettings) -> AsyncIterator[grpc.aio.Channel]:
    producer = make_producer(kafka_settings, "test-intake")
    await producer.start()
    publisher = EventPublisher(producer, kafka_settings.topic(COMPLAINT_EVENTS))
    ledger = KafkaLedger(producer, kafka_settings, kafka_settings.topic(INTAKE_SUBMISSIONS))
    await ledger.start()
    rules = InputRules(calendar_ids(SLA_CALENDARS))
    server = GrpcServer(Intake(publisher, ledger, system_clock, rules), "127.0.0.1", 0)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield channel
    finally:
        await server.stop(grace_s=1)
        await ledger.stop()
        await producer.stop()


# One receipt time for the module: a resubmission is the same content in every field.
RECEIVED_AT = datetime.now(UTC) - timedelta(minutes=3)


def _request(reference: str, **overrides: object) -> intake_pb2.SubmitComplaintRequest:
    received = Timestamp()
    received.FromDatetime(RECEIVED_AT)
    request = intake_pb2.SubmitComplaintRequest(
        source_system="crm",
        source_reference=reference,
        customer=pb.Customer(
            customer_id="cust-1", display_name="Ada Lovelace", email="ada@example.com"
        ),
        channel=pb.CHANNEL_EMAIL,
        subject="Charged twice",
        description="I was charged a late fee twice this month.",
        product="credit_card",
        jurisdiction="GB-ENG",
        received_at=received,
    )
    for name, value in overrides.items():
        setattr(request, name, value)
    return request


async def test_a_valid_complaint_is_recorded_as_received_then_classified(
    intake_channel: grpc.aio.Channel, kafka_settings: KafkaSettings, unique: str
) -> None:
    stub = intake_pb2_grpc.IntakeServiceStub(intake_channel)
    # From 'now': the session's shared topic already holds every earlier test's events.
    topic = kafka_settings.topic(COMPLAINT_EVENTS)
    async with TopicTail(kafka_settings, topic, from_start=False) as tail:
        response = await stub.SubmitComplaint(_request(unique))

        assert response.complaint_id == complaint_id_for("crm", unique)
        assert response.category == "fees"
        assert response.regime == "uk-fca-disp"
        assert any(reason.code == "category.fees" for reason in response.reasons)

        mine = [
            e
            for e in await tail.collect(
                lambda seen: sum(x.complaint_id == response.complaint_id for x in seen) >= 2,
                timeout_s=15,
            )
            if e.complaint_id == response.complaint_id
        ]
    assert [event_type(e) for e in mine] == ["received", "classified"]
    received, classified = mine
    assert received.received.customer.email == "ada@example.com"
    assert classified.causation_id == received.event_id
    assert classified.correlation_id == received.event_id
    assert classified.classified.regime == "uk-fca-disp"


async def test_resubmitting_the_same_content_returns_the_first_answer_and_publishes_nothing(
    intake_channel: grpc.aio.Channel, kafka_settings: KafkaSettings, unique: str
) -> None:
    stub = intake_pb2_grpc.IntakeServiceStub(intake_channel)
    first = await stub.SubmitComplaint(_request(unique))
    topic = kafka_settings.topic(COMPLAINT_EVENTS)
    async with TopicTail(kafka_settings, topic, from_start=False) as tail:
        second = await stub.SubmitComplaint(_request(unique))
        seen = await tail.collect(lambda _: False, timeout_s=2)
    assert second == first
    # Other services on the session's topic may still react to the first submission.
    republished = [
        e
        for e in seen
        if e.complaint_id == first.complaint_id and event_type(e) in ("received", "classified")
    ]
    assert republished == []


async def test_an_invalid_complaint_fails_with_every_broken_field_and_nothing_recorded(
    intake_channel: grpc.aio.Channel, kafka_settings: KafkaSettings, unique: str
) -> None:
    stub = intake_pb2_grpc.IntakeServiceStub(intake_channel)
    request = _request(unique, jurisdiction="England", channel=pb.CHANNEL_UNSPECIFIED)
    request.customer.email = "not-an-address"
    request.ClearField("received_at")

    def rejected() -> float:
        labels = {"method": "SubmitComplaint", "code": "INVALID_ARGUMENT"}
        return REGISTRY.get_sample_value("kintsugi_grpc_request_seconds_count", labels) or 0.0

    before = rejected()
    topic = kafka_settings.topic(COMPLAINT_EVENTS)
    async with TopicTail(kafka_settings, topic, from_start=False) as tail:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await stub.SubmitComplaint(request)
        seen = await tail.collect(lambda _: False, timeout_s=2)
    assert rejected() == before + 1
    complaint_id = complaint_id_for("crm", unique)
    assert all(e.complaint_id != complaint_id for e in seen)

    error = failure.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(error)
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    violations = {v.field: v.description for v in bad_request.field_violations}
    assert set(violations) == {"jurisdiction", "channel", "customer.email", "received_at"}
    assert "ISO 3166" in violations["jurisdiction"]


async def test_what_an_integrator_saw_accepted_is_refused_with_every_field_named(
    intake_channel: grpc.aio.Channel, unique: str
) -> None:
    stub = intake_pb2_grpc.IntakeServiceStub(intake_channel)
    request = _request(unique, subject="Charged\r\nBcc: all", jurisdiction="US-CA")
    request.received_at.FromDatetime(datetime(1990, 1, 1, tzinfo=UTC))
    request.customer.display_name = "Ada\nLovelace"
    request.customer.preferred_language = "klingon!!"
    request.customer.phone = "07700 900123"

    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await stub.SubmitComplaint(request)

    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(failure.value)
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    violations = {v.field: v.description for v in bad_request.field_violations}
    assert set(violations) == {
        "subject",
        "jurisdiction",
        "received_at",
        "customer.display_name",
        "customer.preferred_language",
        "customer.phone",
    }
    assert "business calendar" in violations["jurisdiction"]
    assert "90 days" in violations["received_at"]
    assert "BCP 47" in violations["customer.preferred_language"]
    assert "E.164" in violations["customer.phone"]
