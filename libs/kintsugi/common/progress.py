"""Is a consumer group still making progress? Liveness from the outside.

A consumer can lose track of a partition without failing: faust-streaming, after a
rebalance, may drop records it had already fetched (its flow control clears the queues)
while the consumer's position stays past them (issues #596, #629). The group's committed
offsets then stay put while records wait. ``StallDetector`` is the pure rule;
``GroupProgressProbe`` reads the offsets from Kafka; ``watch_progress`` runs them and hands
stalled partitions, with their committed offsets, to the service to act on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from kintsugi.common.kafka import topic_partitions
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

    def forget(self, partitions: list[int]) -> None:
        """After acting on a stall: the partitions get a fresh grace period."""
        for partition in partitions:
            self._since.pop(partition, None)


class GroupProgressProbe:
    """Committed offsets of a group and end offsets of a topic, read from the cluster."""

    def __init__(self, kafka: KafkaSettings, group: str, topic: str) -> None:
        self._kafka = kafka
        self._group = group
        self._topic = topic

    async def read(self) -> tuple[dict[int, int], dict[int, int]]:
        admin = AIOKafkaAdminClient(**self._kafka.client_options())
        consumer = AIOKafkaConsumer(**self._kafka.client_options(), group_id=None)
        try:  # closed also when starting failed (the broker is away): nothing leaks
            await admin.start()
            await consumer.start()
            tps = await topic_partitions(consumer, self._topic)
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
    on_stalled: Callable[[dict[int, int]], Awaitable[None]],
    clock: Callable[[], float],
) -> None:
    """Forever: read offsets every ``interval_s``; hand over stalled partitions with their
    committed offsets."""
    while True:
        await asyncio.sleep(interval_s)
        if paused():
            detector.reset()
            continue
        try:
            committed, ends = await probe.read()
        except Exception as error:
            # The broker is away: nobody can commit meanwhile, so a commit that did not
            # move across the outage says nothing about the consumer. A fresh grace period
            # once it is back, not a rewind (found by ``make chaos``'s broker restarts).
            log.warning("progress_probe_failed", error=repr(error))
            detector.reset()
            continue
        stalled = detector.observe(committed, ends, clock())
        if stalled:
            log.error("partitions_stalled", partitions=stalled, committed=committed, ends=ends)
            await on_stalled({p: committed.get(p, 0) for p in stalled})
            detector.forget(stalled)


async def seed_missing_commits(kafka: KafkaSettings, group: str, topic: str) -> list[int]:
    """Commit the start of every partition the group has never committed, before it joins.

    Equivalent to ``auto.offset.reset=earliest``, but explicit: faust-streaming resets its
    read positions after a rebalance only for partitions that have a committed offset, and
    drops records it fetched during the rebalance on the others. Only an empty group
    accepts these commits; if members are active, they already own the partitions and
    nothing is changed.
    """
    consumer = AIOKafkaConsumer(**kafka.client_options(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = await topic_partitions(consumer, topic)
        if not tps:
            return []
        consumer.assign(tps)
        missing = [tp for tp in tps if await consumer.committed(tp) is None]
        if not missing:
            return []
        starts = await consumer.beginning_offsets(missing)
        try:
            await consumer.commit({tp: starts[tp] for tp in missing})
        except KafkaError as error:
            log.info("commit_seeding_skipped", group=group, reason=repr(error))
            return []
        seeded = [tp.partition for tp in missing]
        log.info("commits_seeded", group=group, topic=topic, partitions=seeded)
        return seeded
    finally:
        await consumer.stop()
