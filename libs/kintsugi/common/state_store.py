"""A keyed state store backed by a compacted Kafka topic (a changelog).

The store topic is co-partitioned with the complaint-events topic (same key, same
partition count), so when a consumer is assigned events partition N it restores store
partition N first and then holds the latest value of every complaint it will see.
Writes are acknowledged by the broker (acks=all) before the caller commits its input
offset, so a crash never loses state that a committed offset depends on.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import RecordMetadata

from kintsugi.common.batch import current_batch
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.logs import get_logger

log = get_logger(__name__)


class CompactedStore:
    def __init__(self, producer: AIOKafkaProducer, kafka: KafkaSettings, topic: str) -> None:
        self._producer = producer
        self._kafka = kafka
        self._topic = topic
        self._values: dict[str, bytes] = {}
        self._keys_by_partition: dict[int, set[str]] = {}

    def get(self, key: str) -> bytes | None:
        return self._values.get(key)

    def items(self) -> Iterable[tuple[str, bytes]]:
        return self._values.items()

    def __len__(self) -> int:
        return len(self._values)

    async def put(self, key: str, value: bytes | None) -> None:
        """Set (or, with ``None``, delete) the value for ``key``: readable at once, durable
        when this returns, or - inside a consumer batch - when the batch is flushed."""
        batch = current_batch()
        if batch is None:
            await self.put_now(key, value)
            return
        self._values_set(key, value)

        def delivered(metadata: RecordMetadata) -> None:
            self._remember(metadata.partition, key, value)

        batch.write_state(self._topic, key.encode(), value, delivered)

    async def put_now(self, key: str, value: bytes | None) -> None:
        """Durable when this returns, batch or not: for a record of a side effect that has
        left the system (an email sent), where waiting for the batch would widen the window
        in which a crash repeats it."""
        batch = current_batch()
        if batch is not None:
            batch.drop_state(self._topic, key.encode())
        metadata = await self._producer.send_and_wait(self._topic, value, key=key.encode())
        self._remember(metadata.partition, key, value)

    async def restore(self, partitions: Iterable[int]) -> int:
        """Load the given partitions from the start of the changelog; return records read."""
        wanted = [TopicPartition(self._topic, p) for p in partitions]
        if not wanted:
            return 0
        consumer = AIOKafkaConsumer(
            **self._kafka.client_options(), enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        read = 0
        try:
            consumer.assign(wanted)
            await consumer.seek_to_beginning(*wanted)
            end_offsets = await consumer.end_offsets(wanted)
            remaining = {tp for tp in wanted if end_offsets[tp] > await consumer.position(tp)}
            while remaining:
                batches = await consumer.getmany(*remaining, timeout_ms=1000)
                for tp, records in batches.items():
                    for record in records:
                        if record.key is not None:
                            self._remember(tp.partition, record.key.decode(), record.value)
                            read += 1
                for tp in list(remaining):
                    if await consumer.position(tp) >= end_offsets[tp]:
                        remaining.discard(tp)
        finally:
            await consumer.stop()
        log.info("store_restored", topic=self._topic, partitions=sorted(partitions), records=read)
        return read

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop partitions this worker no longer owns (their new owner restores them)."""
        for partition in partitions:
            for key in self._keys_by_partition.pop(partition, set()):
                self._values.pop(key, None)

    def _remember(self, partition: int, key: str, value: bytes | None) -> None:
        self._values_set(key, value)
        keys = self._keys_by_partition.setdefault(partition, set())
        if value is None:
            keys.discard(key)
        else:
            keys.add(key)

    def _values_set(self, key: str, value: bytes | None) -> None:
        if value is None:
            self._values.pop(key, None)
        else:
            self._values[key] = value
