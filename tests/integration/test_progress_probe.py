"""The progress watch reads a real group's commits and flags a partition that waits."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from dataclasses import replace

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import OffsetAndMetadata

from kintsugi.common.bootstrap import create_topics
from kintsugi.common.kafka import make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.progress import GroupProgressProbe, StallDetector, watch_progress
from kintsugi.common.topics import RAW_COMPLAINTS
from tools.devstack.processes import free_port


async def test_a_group_with_waiting_records_and_no_commits_is_reported_stalled(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    # A topic of its own: nothing else may write to it while offsets are compared.
    spec = replace(RAW_COMPLAINTS, name=f"progress-test-{unique}", partitions=1)
    await create_topics(kafka_settings, (spec,))
    topic = kafka_settings.topic(spec)
    group = f"{kafka_settings.topic_prefix}stalled-{unique}"
    producer = make_producer(kafka_settings, "test")
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, b"waiting", key=unique.encode())
    finally:
        await producer.stop()
    partition = sent.partition

    # The group committed everything before our record, then stopped moving.
    # No auto-commit: stopping would otherwise commit the consumer's position (the end).
    consumer = AIOKafkaConsumer(
        **kafka_settings.client_options(), group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        await consumer.commit({tp: OffsetAndMetadata(sent.offset, "")})
    finally:
        await consumer.stop()

    probe = GroupProgressProbe(kafka_settings, group, topic)
    committed, ends = await probe.read()
    assert committed[partition] == sent.offset
    assert ends[partition] == sent.offset + 1

    reported: list[dict[int, int]] = []
    flagged = asyncio.Event()

    async def on_stalled(partitions: dict[int, int]) -> None:
        reported.append(partitions)
        flagged.set()

    watcher = asyncio.create_task(
        watch_progress(
            probe,
            StallDetector(stall_after_s=1),
            interval_s=0.3,
            paused=lambda: False,
            on_stalled=on_stalled,
            clock=time.monotonic,
        )
    )
    try:
        async with asyncio.timeout(30):
            await flagged.wait()
    finally:
        watcher.cancel()
    assert reported[0][partition] == sent.offset  # with the offset to rewind to


async def test_a_probe_of_a_broker_that_is_away_leaves_no_client_open(unique: str) -> None:
    # Found by `make chaos`: while its broker was away the sla leaked a consumer per check.
    nobody = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    probe = GroupProgressProbe(nobody, f"group-{unique}", f"topic-{unique}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(KafkaConnectionError):
            await probe.read()
        gc.collect()
    assert not [w for w in caught if "Unclosed" in str(w.message)]
