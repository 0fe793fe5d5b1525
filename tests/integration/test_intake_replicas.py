"""The resubmission contract across two real intake processes, a restart and a real broker.

Two replicas get the same references at the same moment, with the same or different
content; one is restarted in between. Whatever the interleaving: one complaint per
reference on the log, with the first content, each event once; the same content always
gets the first answer; different content gets ALREADY_EXISTS naming the complaint.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from kintsugi.common.codec import event_type
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.timeutil import to_timestamp
from kintsugi.common.topics import COMPLAINT_EVENTS
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2, intake_pb2_grpc
from services.intake.service import complaint_id_for
from tools.devstack.events import TopicTail
from tools.devstack.processes import ServiceProcess, StackConfig, free_port, start_service

REFERENCES = 4
# One receipt time for every request: "the same content" means the same in every field.
RECEIVED_AT = datetime.now(UTC) - timedelta(minutes=5)


def replica_config(kafka: KafkaSettings) -> StackConfig:
    return StackConfig(
        bootstrap_servers=kafka.bootstrap_servers,
        smtp_port=0,
        grpc_port=free_port(),
        ops_ports={"intake": free_port()},
        topic_prefix=kafka.topic_prefix,
    )


@pytest.fixture
def replicas(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> Iterator[list[tuple[StackConfig, ServiceProcess]]]:
    started = []
    for index in range(2):
        config = replica_config(kafka_settings)
        started.append((config, start_service("intake", config, tmp_path / f"replica-{index}")))
    try:
        for _, process in started:
            process.wait_ready()
        yield started
    finally:
        for _, process in started:
            process.stop()


def request(reference: str, description: str) -> intake_pb2.SubmitComplaintRequest:
    return intake_pb2.SubmitComplaintRequest(
        source_system="crm",
        source_reference=reference,
        customer=pb.Customer(customer_id="c-1", display_name="Ada Lovelace", email="a@example.com"),
        channel=pb.CHANNEL_EMAIL,
        subject="My account",
        description=description,
        product="credit_card",
        jurisdiction="GB-ENG",
        received_at=to_timestamp(RECEIVED_AT),
    )


async def submit(
    config: StackConfig, message: intake_pb2.SubmitComplaintRequest
) -> intake_pb2.SubmitComplaintResponse | grpc.aio.AioRpcError:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{config.grpc_port}") as channel:
        try:
            response: intake_pb2.SubmitComplaintResponse = await intake_pb2_grpc.IntakeServiceStub(
                channel
            ).SubmitComplaint(message, timeout=15)
            return response
        except grpc.aio.AioRpcError as error:
            return error


def named_resource(error: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)
    assert status is not None
    info = error_details_pb2.ResourceInfo()
    assert status.details[0].Unpack(info)
    return info.resource_name


def accepted_count(process: ServiceProcess) -> float:
    url = f"http://127.0.0.1:{process.ops_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as page:
        text = page.read().decode()
    prefix = 'kintsugi_complaints_submitted_total{channel="email",outcome="accepted"}'
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


async def test_two_replicas_and_a_restart_keep_one_story_per_reference(
    replicas: list[tuple[StackConfig, ServiceProcess]],
    kafka_settings: KafkaSettings,
    unique: str,
    tmp_path: Path,
) -> None:
    (config_a, process_a), (config_b, process_b) = replicas
    since = time.time()
    conflicting = [f"{unique}-conflict-{i}" for i in range(REFERENCES)]
    identical = [f"{unique}-same-{i}" for i in range(REFERENCES)]

    # The same reference reaches both replicas at once: different content, then the same.
    outcomes = await asyncio.gather(
        *(
            submit(config, request(reference, text))
            for reference in conflicting
            for config, text in ((config_a, "I was charged a fee twice."), (config_b, "Rude."))
        ),
        *(
            submit(config, request(reference, "My card was charged twice."))
            for reference in identical
            for config in (config_a, config_b)
        ),
    )
    first_content: dict[str, str] = {}
    for index, reference in enumerate(conflicting):
        pair = outcomes[2 * index : 2 * index + 2]
        oks = [o for o in pair if isinstance(o, intake_pb2.SubmitComplaintResponse)]
        errors = [o for o in pair if isinstance(o, grpc.aio.AioRpcError)]
        assert len(oks) == 1 and len(errors) == 1, pair
        assert errors[0].code() == grpc.StatusCode.ALREADY_EXISTS
        complaint_id = complaint_id_for("crm", reference)
        assert oks[0].complaint_id == complaint_id == named_resource(errors[0])
        first_content[reference] = "I was charged a fee twice." if pair[0] is oks[0] else "Rude."
    offset = 2 * REFERENCES
    for index, reference in enumerate(identical):
        pair = outcomes[offset + 2 * index : offset + 2 * index + 2]
        assert all(isinstance(o, intake_pb2.SubmitComplaintResponse) for o in pair), pair
        assert pair[0] == pair[1]
        first_content[reference] = "My card was charged twice."
    # Every new complaint was counted once, whichever replica took it.
    assert accepted_count(process_a) + accepted_count(process_b) == 2 * REFERENCES

    # A restarted replica reads the ledger back: same content, same answer; different, refused.
    process_a.stop()
    restarted = start_service("intake", config_a, tmp_path / "replica-0-again")
    replicas[0] = (config_a, restarted)
    restarted.wait_ready()
    for reference, text in first_content.items():
        again = await submit(config_a, request(reference, text))
        assert isinstance(again, intake_pb2.SubmitComplaintResponse), again
        assert again.complaint_id == complaint_id_for("crm", reference)
        other = await submit(config_a, request(reference, "Something else entirely."))
        assert isinstance(other, grpc.aio.AioRpcError)
        assert other.code() == grpc.StatusCode.ALREADY_EXISTS
    assert accepted_count(restarted) == 0

    wanted = {complaint_id_for("crm", r): r for r in first_content}
    async with TopicTail(kafka_settings, kafka_settings.topic(COMPLAINT_EVENTS), since=since) as t:
        seen = await t.collect(lambda _: False, timeout_s=5)
    mine = [e for e in seen if e.complaint_id in wanted]
    for complaint_id, reference in wanted.items():
        # Only intake's own events: other services on the session's topic may react too.
        events = [
            e
            for e in mine
            if e.complaint_id == complaint_id and event_type(e) in ("received", "classified")
        ]
        assert [event_type(e) for e in events] == ["received", "classified"], reference
        assert events[0].received.description == first_content[reference]
