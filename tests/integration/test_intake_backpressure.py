"""When Kafka cannot take the events (here: the events topic has no partition leader to
write to - it does not exist yet, and the broker creates no topics by itself - as when its
brokers are down), the caller hears UNAVAILABLE with a retry hint inside its deadline,
never OK, and the same request succeeds, once, when Kafka recovers."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from kintsugi.common.bootstrap import create_topics
from kintsugi.common.codec import event_type
from kintsugi.common.jurisdictions import calendar_ids
from kintsugi.common.kafka import EventPublisher, make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.timeutil import system_clock, to_timestamp
from kintsugi.common.topics import COMPLAINT_EVENTS, INTAKE_SUBMISSIONS
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2, intake_pb2_grpc
from services.intake.adapters.admission import Admission
from services.intake.adapters.grpc_api import GrpcServer
from services.intake.adapters.ledger_kafka import KafkaLedger
from services.intake.config import SLA_CALENDARS
from services.intake.domain.rules import InputRules
from services.intake.service import Intake, IntakeOptions, complaint_id_for
from tools.devstack.events import TopicTail
from tools.devstack.topics import own_topics


@dataclasses.dataclass
class Cluster:
    kafka: KafkaSettings

    async def recover(self) -> None:
        await create_topics(self.kafka, (COMPLAINT_EVENTS,))


@pytest.fixture
async def cluster(kafka_bootstrap: str) -> AsyncIterator[Cluster]:
    # Only the ledger topic: the events topic is missing until the test "recovers" it.
    async with own_topics(kafka_bootstrap, specs=(INTAKE_SUBMISSIONS,)) as kafka:
        yield Cluster(kafka)


@pytest.fixture
async def intake(cluster: Cluster) -> AsyncIterator[intake_pb2_grpc.IntakeServiceStub]:
    kafka = cluster.kafka
    producer = make_producer(kafka, "test-intake")
    await producer.start()
    ledger = KafkaLedger(producer, kafka, kafka.topic(INTAKE_SUBMISSIONS))
    await ledger.start()
    intake = Intake(
        EventPublisher(producer, kafka.topic(COMPLAINT_EVENTS)),
        ledger,
        system_clock,
        InputRules(calendar_ids(SLA_CALENDARS)),
        IntakeOptions(claim_wait_s=0.5),
    )
    server = GrpcServer(
        intake, "127.0.0.1", 0, admission=Admission(16, request_timeout_s=10), retry_after_s=2
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield intake_pb2_grpc.IntakeServiceStub(channel)
    finally:
        await server.stop(1)
        await ledger.stop()
        await producer.stop()


def complaint(reference: str) -> intake_pb2.SubmitComplaintRequest:
    return intake_pb2.SubmitComplaintRequest(
        source_system="crm",
        source_reference=reference,
        customer=pb.Customer(customer_id="c-1", display_name="Ada Lovelace", email="a@example.com"),
        channel=pb.CHANNEL_EMAIL,
        description="I was charged a fee twice.",
        jurisdiction="GB-ENG",
        received_at=to_timestamp(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)),
    )


async def test_kafka_refusing_writes_means_unavailable_in_time_then_ok_once_it_recovers(
    cluster: Cluster, intake: intake_pb2_grpc.IntakeServiceStub
) -> None:
    since = time.time()
    request = complaint(uuid.uuid4().hex[:12])

    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await intake.SubmitComplaint(request, timeout=3)
    took = time.monotonic() - started

    error = refused.value
    assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()
    assert took < 3
    status = rpc_status.from_call(error)
    assert status is not None
    retry = error_details_pb2.RetryInfo()
    assert any(d.Unpack(retry) for d in status.details)
    assert retry.retry_delay.seconds == 2

    await cluster.recover()
    response = await intake.SubmitComplaint(request, timeout=15)
    again = await intake.SubmitComplaint(request, timeout=15)

    assert response == again
    assert response.complaint_id == complaint_id_for("crm", request.source_reference)
    async with TopicTail(cluster.kafka, cluster.kafka.topic(COMPLAINT_EVENTS), since=since) as t:
        seen = await t.collect(lambda _: False, timeout_s=5)
    mine = [e for e in seen if e.complaint_id == response.complaint_id]
    # The refused attempt's sends may land too once the broker takes writes again: the
    # same bytes under the same ids, which every consumer drops (decision 2). Never lost.
    assert {(e.event_id, event_type(e)) for e in mine} == {
        (e.event_id, event_type(e)) for e in mine[:2]
    }
    assert [event_type(e) for e in mine[:2]] == ["received", "classified"]
    assert all(e == mine[0] or e == mine[1] for e in mine)
