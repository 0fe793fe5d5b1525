"""Producing and consuming complaint events with at-least-once, never-lose semantics.

Consumers process each partition's records in order and commit an offset only after the
record was handled or dead-lettered with its reason. Handlers must therefore be
idempotent: a record is seen again after a crash between handling and commit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from kintsugi.common import metrics
from kintsugi.common.codec import (
    EVENT_TYPE_HEADER,
    DeadLetter,
    Event,
    UndecodableMessage,
    encode,
    event_type,
)
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.logs import get_logger
from kintsugi.common.timeutil import Clock, to_timestamp

log = get_logger(__name__)

RecordHandler = Callable[[ConsumerRecord[bytes, bytes]], Awaitable[None]]
PartitionsHook = Callable[[set[TopicPartition]], Awaitable[None]]


class SourceRecord(Protocol):
    """What a dead letter needs of a consumed message (aiokafka's or Faust's)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


async def topic_partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """Every partition of ``topic``, even one the consumer never subscribed to."""
    # aiokafka has metadata only for subscribed topics; ask the cluster for the rest.
    cluster = await consumer._client.fetch_all_metadata()
    return [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]


class PermanentFailure(Exception):
    """Retrying cannot help (bad data, broken rule): dead-letter at once with this reason."""


def make_producer(kafka: KafkaSettings, client_id: str) -> AIOKafkaProducer:
    """Idempotent, acks=all: a send that returns is durable and never duplicated by retries."""
    return AIOKafkaProducer(
        **kafka.client_options(),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        compression_type=None,
    )


class EventPublisher:
    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def publish(self, *events: Event) -> None:
        """Send all, then wait for all: per-complaint order is kept by key and idempotence."""
        pending = []
        for event in events:
            key, value, headers = encode(event)
            pending.append(await self._producer.send(self._topic, value, key=key, headers=headers))
        for future in pending:
            await future
        for event in events:
            metrics.EVENTS_PUBLISHED.labels(event_type(event)).inc()


class DeadLetterPublisher:
    def __init__(
        self, producer: AIOKafkaProducer, topic: str, consumer_group: str, clock: Clock
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._group = consumer_group
        self._clock = clock

    async def publish(self, record: SourceRecord, reason: str, kind: str, attempts: int) -> None:
        letter = DeadLetter(
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            key=record.key or b"",
            value=record.value or b"",
            reason=reason,
            consumer_group=self._group,
            failed_at=to_timestamp(self._clock()),
            attempts=attempts,
        )
        await self._producer.send_and_wait(
            self._topic,
            letter.SerializeToString(),
            key=record.key,
            headers=[("kintsugi-dead-letter-kind", kind.encode())],
        )
        metrics.DEAD_LETTERS.labels(record.topic, kind).inc()
        log.warning(
            "dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            kind=kind,
            reason=reason,
        )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5
    first_backoff_s: float = 0.2
    max_backoff_s: float = 5.0

    def backoff(self, attempt: int) -> float:
        return float(min(self.max_backoff_s, self.first_backoff_s * 2 ** (attempt - 1)))


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: ConsumerLoop) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self._loop.partitions_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self._loop.partitions_assigned(set(assigned))


class ConsumerLoop:
    """Runs one consumer group member: fetch, handle in order, dead-letter, commit."""

    def __init__(
        self,
        *,
        kafka: KafkaSettings,
        group_id: str,
        topics: Iterable[str],
        handler: RecordHandler,
        dead_letters: DeadLetterPublisher,
        retry: RetryPolicy | None = None,
        on_assigned: PartitionsHook | None = None,
        on_revoked: PartitionsHook | None = None,
        client_id: str | None = None,
        key_log_field: str = "complaint_id",
    ) -> None:
        self._topics = list(topics)
        self._group = group_id
        self._key_log_field = key_log_field
        self._handler = handler
        self._dead_letters = dead_letters
        self._retry = retry or RetryPolicy()
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked
        self._consumer = AIOKafkaConsumer(
            **kafka.client_options(),
            group_id=group_id,
            client_id=client_id or group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_interval_ms=300_000,
        )
        self.joined = False
        self._batch = asyncio.Lock()
        self._fatal: Exception | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._consumer.subscribe(self._topics, listener=_Rebalance(self))

    async def stop(self) -> None:
        await self._consumer.stop()

    async def partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        async with self._batch:
            if self._on_assigned is not None:
                try:
                    await self._on_assigned(assigned)
                except Exception as error:
                    # Consuming without the partitions' state would repeat side effects
                    # (a second email): stop instead, and let the orchestrator restart us.
                    self._fatal = error
                    raise
        self.joined = True
        log.info("partitions_assigned", partitions=sorted(str(tp) for tp in assigned))

    async def partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # The rebalance runs in aiokafka's coordinator task, beside ``run``: waiting for the
        # batch lock means the batch in hand is handled and committed before a partition's
        # state is dropped and its new owner starts.
        async with self._batch:
            if self._on_revoked is not None:
                await self._on_revoked(revoked)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set; the batch in hand is finished and committed first."""
        while not stop.is_set():
            batches = await self._consumer.getmany(timeout_ms=500, max_records=200)
            async with self._batch:
                if self._fatal is not None:
                    raise RuntimeError("partition state could not be restored") from self._fatal
                for partition, records in batches.items():
                    for record in records:
                        await self._process(record)
                    next_offset = records[-1].offset + 1
                    await self._consumer.commit({partition: next_offset})
                    self._report_lag(partition, next_offset)

    def _report_lag(self, partition: TopicPartition, next_offset: int) -> None:
        highwater = self._consumer.highwater(partition)
        if highwater is not None:
            metrics.CONSUMER_LAG.labels(self._group, partition.topic, partition.partition).set(
                max(0, highwater - next_offset)
            )

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        key = (record.key or b"").decode(errors="replace")
        with structlog.contextvars.bound_contextvars(**{self._key_log_field: key}):
            await self._process_bound(record)

    async def _process_bound(self, record: ConsumerRecord[bytes, bytes]) -> None:
        started = time.perf_counter()
        outcome = await handle_or_dead_letter(
            record, lambda: self._handler(record), self._dead_letters, self._retry
        )
        kind = _header(record, EVENT_TYPE_HEADER) or "unknown"
        metrics.EVENTS_CONSUMED.labels(record.topic, kind, outcome).inc()
        metrics.EVENT_HANDLING_SECONDS.labels(kind).observe(time.perf_counter() - started)


async def handle_or_dead_letter(
    record: SourceRecord,
    attempt_once: Callable[[], Awaitable[None]],
    dead_letters: DeadLetterPublisher,
    retry: RetryPolicy,
) -> str:
    """Handle a record, or dead-letter it with the reason: at once when retrying cannot
    help (``UndecodableMessage``, ``PermanentFailure``), after ``retry`` otherwise.

    Returns the outcome, "handled" or "dead_lettered"; never raises for the handler.
    """
    for attempt in range(1, retry.attempts + 1):
        try:
            await attempt_once()
            return "handled"
        except (UndecodableMessage, PermanentFailure) as error:
            await dead_letters.publish(record, str(error), "permanent", attempt)
            return "dead_lettered"
        except Exception as error:
            if attempt == retry.attempts:
                reason = f"gave up after {attempt} attempts: {error!r}"
                await dead_letters.publish(record, reason, "exhausted", attempt)
                return "dead_lettered"
            metrics.HANDLER_RETRIES.labels(record.topic).inc()
            log.warning("handler_retry", attempt=attempt, error=repr(error))
            await asyncio.sleep(retry.backoff(attempt))
    raise AssertionError("RetryPolicy.attempts must be at least 1")


def _header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode(errors="replace")
    return None
