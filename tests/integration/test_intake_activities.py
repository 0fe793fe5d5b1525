"""RecordActivity on a real intake process and broker: gRPC and the raw topic, one story."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from kintsugi.common.codec import event_type
from kintsugi.common.kafka import make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.timeutil import to_timestamp
from kintsugi.common.topics import COMPLAINT_EVENTS, RAW_ACTIVITIES
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2, intake_pb2_grpc
from services.intake.adapters.activity_protos import activity_id_for
from services.intake.service import complaint_id_for
from tools.devstack.events import TopicTail
from tools.devstack.processes import ServiceProcess, StackConfig, free_port, start_service

NOW = datetime.now(UTC)


@pytest.fixture
def intake_process(kafka_settings: KafkaSettings, tmp_path: Path) -> Iterator[StackConfig]:
    config = StackConfig(
        bootstrap_servers=kafka_settings.bootstrap_servers,
        smtp_port=0,
        grpc_port=free_port(),
        ops_ports={"intake": free_port()},
        topic_prefix=kafka_settings.topic_prefix,
    )
    process: ServiceProcess = start_service("intake", config, tmp_path)
    try:
        process.wait_ready()
        yield config
    finally:
        process.stop()


def complaint(reference: str) -> intake_pb2.SubmitComplaintRequest:
    return intake_pb2.SubmitComplaintRequest(
        source_system="crm",
        source_reference=reference,
        customer=pb.Customer(customer_id="c-9", display_name="Grace Hopper", email="g@example.com"),
        channel=pb.CHANNEL_EMAIL,
        description="I was charged a fee twice.",
        jurisdiction="GB-ENG",
        received_at=to_timestamp(NOW - timedelta(hours=1)),
    )


def activity(
    reference: str, activity_reference: str, **kind: object
) -> intake_pb2.RecordActivityRequest:
    request = intake_pb2.RecordActivityRequest(
        source_system="crm",
        source_reference=reference,
        activity_reference=activity_reference,
        occurred_at=to_timestamp(NOW - timedelta(minutes=10)),
        actor_id="h-7",
        actor_name="Amara Okafor",
    )
    for name, value in kind.items():
        getattr(request, name).CopyFrom(value)
    return request


def call_failure(error: grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, list[str]]:
    """The code, and the fields a BadRequest names (if any)."""
    status = rpc_status.from_call(error)
    fields: list[str] = []
    if status is not None:
        for detail in status.details:
            bad_request = error_details_pb2.BadRequest()
            if detail.Unpack(bad_request):
                fields = [v.field for v in bad_request.field_violations]
    return error.code(), fields


async def test_activities_arrive_once_by_grpc_and_raw_topic_and_bad_ones_are_refused(
    intake_process: StackConfig, kafka_settings: KafkaSettings, unique: str
) -> None:
    since = time.time()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{intake_process.grpc_port}") as channel:
        stub = intake_pb2_grpc.IntakeServiceStub(channel)
        submitted = await stub.SubmitComplaint(complaint(unique), timeout=15)
        phone_call = activity(
            unique,
            f"{unique}-call",
            staff_response=intake_pb2.StaffResponse(channel=pb.CHANNEL_PHONE),
        )

        first = await stub.RecordActivity(phone_call, timeout=15)
        again = await stub.RecordActivity(phone_call, timeout=15)

        assert first == again
        assert first.complaint_id == submitted.complaint_id
        assert first.activity_id == activity_id_for("crm", f"{unique}-call")

        refusals = []
        for request in (
            activity(unique, f"{unique}-call", note=intake_pb2.InternalNote(text="changed")),
            activity(
                "never-submitted",
                f"{unique}-x",
                note=intake_pb2.InternalNote(text="hello"),
            ),
            activity(
                unique,
                f"{unique}-bad",
                status_change=intake_pb2.StatusChange(new_status=pb.STATUS_RESOLVED),
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.RecordActivity(request, timeout=15)
            refusals.append(call_failure(refused.value))
    assert refusals == [
        (grpc.StatusCode.ALREADY_EXISTS, []),
        (grpc.StatusCode.NOT_FOUND, []),
        (grpc.StatusCode.INVALID_ARGUMENT, ["status_change.outcome"]),
    ]

    # The same message on the raw topic takes the same path.
    resolution = activity(
        unique,
        f"{unique}-resolved",
        status_change=intake_pb2.StatusChange(
            new_status=pb.STATUS_RESOLVED,
            outcome=pb.RESOLUTION_OUTCOME_PARTIALLY_UPHELD,
            redress=pb.Money(amount_minor=4200, currency="GBP"),
        ),
    )
    producer = make_producer(kafka_settings, "test-upstream")
    await producer.start()
    try:
        for _ in range(2):  # an upstream system that sends twice
            await producer.send_and_wait(
                kafka_settings.topic(RAW_ACTIVITIES),
                resolution.SerializeToString(),
                key=unique.encode(),
            )
    finally:
        await producer.stop()

    complaint_id = complaint_id_for("crm", unique)
    topic = kafka_settings.topic(COMPLAINT_EVENTS)
    async with TopicTail(kafka_settings, topic, since=since) as tail:
        seen = await tail.collect(
            lambda events: any(
                e.complaint_id == complaint_id and e.activity.new_status == pb.STATUS_RESOLVED
                for e in events
            ),
            timeout_s=30,
        )
        seen += await tail.collect(lambda _: False, timeout_s=3)  # any duplicate would show
    activities = [e for e in seen if e.complaint_id == complaint_id and event_type(e) == "activity"]
    assert [(e.activity.kind, e.activity.activity_reference) for e in activities] == [
        (pb.ACTIVITY_KIND_STAFF_MESSAGE, f"{unique}-call"),
        (pb.ACTIVITY_KIND_STATUS_CHANGE, f"{unique}-resolved"),
    ]
    resolved = activities[1].activity
    assert resolved.outcome == pb.RESOLUTION_OUTCOME_PARTIALLY_UPHELD
    assert (resolved.redress.amount_minor, resolved.redress.currency) == (4200, "GBP")
