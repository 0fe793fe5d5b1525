"""Is a consumer group still making progress? Liveness from the outside.

A consumer can stop fetching a partition without failing (faust-streaming issue #629: a
partition left unfetched after a rebalance). The group's committed offsets then stay put
while records wait. ``StallDetector`` is the pure rule; ``GroupProgressProbe`` reads the
offsets from Kafka; ``watch_progress`` runs them and reports through ``/healthz`` so the
orchestrator restarts the process, whose fresh consumer resumes from the last commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.logs import get_logger

log = get_logger(__name__)


@dataclass
class StallDetector:
    """A partition is stalled when records wait and its commit has not moved for a while."""

    stall_after_s: float
    _since: dict[int, tuple[int, float]] = field(default_factory=dict)

    def observe(self, committed: dict[int, int], ends: dict[int, int], now: float) -> list[int]:
        stalled = []
        for partition, end in ends.items():
            offset = committed.get(partition, 0)
            if offset >= end:
                self._since.pop(partition, None)
                continue
            first_seen = self._since.get(partition)
            if first_seen is None or first_seen[0] != offset:
                self._since[partition] = (offset, now)
            elif now - first_seen[1] >= self.stall_after_s:
                stalled.append(partition)
        return sorted(stalled)

    def reset(self) -> None:
        """After a rebalance: new owners get a fresh grace period."""
        self._since.clear()


class GroupProgressProbe:
    """Committed offsets of a group and end offsets of a topic, read from the cluster."""

    def __init__(self, kafka: KafkaSettings, group: str, topic: str) -> None:
        self._kafka = kafka
        self._group = group
        self._topic = topic

    async def read(self) -> tuple[dict[int, int], dict[int, int]]:
        admin = AIOKafkaAdminClient(**self._kafka.client_options())
        consumer = AIOKafkaConsumer(**self._kafka.client_options(), group_id=None)
        await admin.start()
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(self._topic)
            if partitions is None:
                partitions = (await consumer._client.fetch_all_metadata()).partitions_for_topic(
                    self._topic
                ) or set()
            tps = [TopicPartition(self._topic, p) for p in sorted(partitions)]
            ends = await consumer.end_offsets(tps)
            offsets = await admin.list_consumer_group_offsets(self._group, partitions=tps)
        finally:
            await consumer.stop()
            await admin.close()
        committed = {tp.partition: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
        return committed, {tp.partition: end for tp, end in ends.items()}


async def watch_progress(
    probe: GroupProgressProbe,
    detector: StallDetector,
    interval_s: float,
    paused: Callable[[], bool],
    on_stalled: Callable[[list[int]], None],
    clock: Callable[[], float],
) -> None:
    """Forever: read offsets every ``interval_s``; report stalled partitions."""
    while True:
        await asyncio.sleep(interval_s)
        if paused():
            detector.reset()
            continue
        try:
            committed, ends = await probe.read()
        except Exception as error:
            log.warning("progress_probe_failed", error=repr(error))
            continue
        stalled = detector.observe(committed, ends, clock())
        if stalled:
            log.error("partitions_stalled", partitions=stalled, committed=committed, ends=ends)
            on_stalled(stalled)
