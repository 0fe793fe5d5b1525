"""One upstream system flooding the raw topic does not hold up the others.

The raw topic is shared: records are taken in partition order, so a source that writes a
burst of thousands puts every other source's complaints behind it. The defence is the
broker's: each upstream system writes as its own Kafka user with a producer byte-rate
quota (``tools/render_kafka_users.py``), and the broker throttles a flood at its quota
before it reaches the topic. On the real broker, with a client quota standing in for the
per-user one (the local broker has no SCRAM users), a real intake process takes in
another source's complaints while the flood is still being throttled, and before most of
the flood: without the quota, all of it would be in the topic ahead of them.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from kintsugi.common.codec import event_type
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.timeutil import to_timestamp
from kintsugi.common.topics import COMPLAINT_EVENTS, RAW_COMPLAINTS
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2
from services.intake.service import complaint_id_for
from tools.devstack.events import TopicTail
from tools.devstack.processes import StackConfig, start_service
from tools.devstack.topics import own_topics

JARS = Path(__file__).resolve().parents[2] / "tools" / "kafka" / "target" / "dependency"
FLOOD = 5_000  # complaints the flooding source tries to write at once
OTHERS = 20  # complaints from the other source, written once the flood is under way
QUOTA_BYTES_PER_S = 10_000  # about 40 of these complaints a second
IN_FLIGHT = 100  # unacknowledged flood records at most (so stopping it is quick)
# Unthrottled, the flood is all written by then; throttled, it has used its burst
# allowance (the quota over the broker's 11 one-second samples) and trickles.
HEAD_START_S = 3.0


def set_producer_quota(bootstrap: str, client_id: str, bytes_per_s: int | None) -> None:
    """Kafka's own admin command (no Python client speaks AlterClientQuotas)."""
    java = shutil.which("java")
    if java is None or not any(JARS.glob("kafka_2.13-*.jar")):
        pytest.skip("needs java and the Kafka jars (make kafka fetches them)")
    change = (
        ["--add-config", f"producer_byte_rate={bytes_per_s}"]
        if bytes_per_s is not None
        else ["--delete-config", "producer_byte_rate"]
    )
    subprocess.run(
        [java, "-cp", f"{JARS}/*", "kafka.admin.ConfigCommand", "--bootstrap-server", bootstrap,
         "--alter", *change, "--entity-type", "clients", "--entity-name", client_id],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip


def complaint(source: str, reference: str) -> bytes:
    return intake_pb2.SubmitComplaintRequest(
        source_system=source,
        source_reference=reference,
        customer=pb.Customer(customer_id=f"c-{reference}", display_name="Ada", email="a@b.org"),
        channel=pb.CHANNEL_EMAIL,
        description="I was charged a fee twice.",
        jurisdiction="GB-ENG",
        received_at=to_timestamp(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)),
    ).SerializeToString()


async def flood(kafka: KafkaSettings, client_id: str, run: str, sent: Counter[str]) -> None:
    producer = AIOKafkaProducer(**kafka.client_options(), client_id=client_id, linger_ms=5)
    await producer.start()
    try:
        waiting: list[asyncio.Future[object]] = []
        for n in range(FLOOD):
            reference = f"{run}-flood-{n}"
            waiting.append(
                await producer.send(
                    kafka.topic(RAW_COMPLAINTS),
                    complaint("flood", reference),
                    key=reference.encode(),
                )
            )
            if len(waiting) >= IN_FLIGHT:
                await asyncio.gather(*waiting)
                sent["flood"] += len(waiting)
                waiting = []
        await asyncio.gather(*waiting)
        sent["flood"] += len(waiting)
    finally:
        await producer.stop()


async def test_a_flooding_source_is_throttled_and_the_others_are_taken_in_first(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:10]
    flood_client = f"upstream-flood-{run}"
    async with own_topics(kafka_bootstrap, "fairness") as kafka:
        config = StackConfig.on_free_ports(kafka.bootstrap_servers, kafka.topic_prefix, smtp_port=0)
        intake = start_service("intake", config, tmp_path / "logs")
        await asyncio.to_thread(
            set_producer_quota, kafka_bootstrap, flood_client, QUOTA_BYTES_PER_S
        )
        sent: Counter[str] = Counter()
        flooding = None
        try:
            await asyncio.to_thread(intake.wait_ready, 120)
            async with TopicTail(kafka, kafka.topic(COMPLAINT_EVENTS)) as tail:
                flooding = asyncio.create_task(flood(kafka, flood_client, run, sent))
                await asyncio.wait([flooding], timeout=HEAD_START_S)
                others = AIOKafkaProducer(**kafka.client_options(), client_id=f"crm-{run}")
                await others.start()
                try:
                    for n in range(OTHERS):
                        reference = f"{run}-crm-{n}"
                        await others.send_and_wait(
                            kafka.topic(RAW_COMPLAINTS),
                            complaint("crm", reference),
                            key=reference.encode(),
                        )
                finally:
                    await others.stop()

                waiting_for = {complaint_id_for("crm", f"{run}-crm-{n}") for n in range(OTHERS)}
                flood_ids = {complaint_id_for("flood", f"{run}-flood-{n}") for n in range(FLOOD)}
                flood_taken_in = 0
                async for event in tail.events(120):
                    if event_type(event) != "received":
                        continue
                    waiting_for.discard(event.complaint_id)
                    flood_taken_in += event.complaint_id in flood_ids
                    if not waiting_for:
                        break
                flood_written = sent["flood"]
        finally:
            if flooding is not None:
                flooding.cancel()
                await asyncio.gather(flooding, return_exceptions=True)
            await asyncio.to_thread(set_producer_quota, kafka_bootstrap, flood_client, None)
            await asyncio.to_thread(intake.stop)

    assert not waiting_for, f"{len(waiting_for)} of the other source's complaints never arrived"
    assert flood_taken_in < FLOOD / 2, (
        f"{flood_taken_in} flood complaints were taken in before the other source's {OTHERS}"
    )
    assert flood_written < FLOOD, "the broker did not throttle the flood"
