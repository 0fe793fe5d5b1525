"""Producing and consuming complaint events with at-least-once, never-lose semantics.

Consumers handle a fetched batch at a time, each key's records in order, and commit the
batch's offsets only after every record was handled or dead-lettered with its reason and
everything the handlers published or stored is durable. Handlers must therefore be
idempotent: a record is seen again after a crash between handling and commit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.structs import RecordMetadata

from kintsugi.common import metrics
from kintsugi.common.batch import Batch, FlushOrder, current_batch, run_in_batch
from kintsugi.common.codec import (
    EVENT_TYPE_HEADER,
    DeadLetter,
    Event,
    UndecodableMessage,
    UnknownEventKind,
    encode,
    event_type,
    header_value,
)
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.logs import get_logger
from kintsugi.common.timeutil import Clock, to_timestamp

log = get_logger(__name__)

DEAD_LETTER_KIND_HEADER = "kintsugi-dead-letter-kind"

M = TypeVar("M")
MessageHandler = Callable[[M], Awaitable[None]]
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
        """Inside a consumer batch: queued for the batch's flush. Outside one: send all,
        then wait for all. Per-complaint order is kept by key and idempotence."""
        batch = current_batch()
        if batch is not None:
            for event in events:
                key, value, headers = encode(event)
                batch.publish(self._topic, key, value, headers, _count_published(event))
            return
        pending = []
        for event in events:
            key, value, headers = encode(event)
            pending.append(await self._producer.send(self._topic, value, key=key, headers=headers))
        await asyncio.gather(*pending)
        for event in events:
            metrics.EVENTS_PUBLISHED.labels(event_type(event)).inc()


def _count_published(event: Event) -> Callable[[RecordMetadata], None]:
    kind = event_type(event)
    return lambda _: metrics.EVENTS_PUBLISHED.labels(kind).inc()


class DeadLetterPublisher:
    def __init__(
        self, producer: AIOKafkaProducer, topic: str, consumer_group: str, clock: Clock
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._group = consumer_group
        self._clock = clock

    async def publish(self, record: SourceRecord, reason: str, kind: str, attempts: int) -> None:
        """Durable before the source offset is committed (in a batch: at its flush)."""
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
        headers = [(DEAD_LETTER_KIND_HEADER, kind.encode())]
        batch = current_batch()
        if batch is not None:
            batch.publish(self._topic, record.key, letter.SerializeToString(), headers)
        else:
            await self._producer.send_and_wait(
                self._topic, letter.SerializeToString(), key=record.key, headers=headers
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
    def __init__(self, loop: ConsumerLoop[Any]) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self._loop.partitions_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self._loop.partitions_assigned(set(assigned))


Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


class ConsumerLoop(Generic[M]):
    """Runs one consumer group member a fetched batch at a time.

    Records of a batch are decoded once and handled concurrently across keys, in offset
    order within a key (a key is a complaint: its events stay in order). Records whose
    event-type header names a type the handler does not want are skipped undecoded.
    What handlers publish or store is flushed together once the whole batch is handled
    (see ``kintsugi.common.batch``); then the batch's offsets are committed.
    """

    def __init__(
        self,
        *,
        kafka: KafkaSettings,
        group_id: str,
        topics: Iterable[str],
        handler: MessageHandler[M],
        decode: Callable[[bytes | None], M],
        producer: AIOKafkaProducer,
        dead_letters: DeadLetterPublisher,
        event_types: Iterable[str] | None = None,
        retry: RetryPolicy | None = None,
        on_assigned: PartitionsHook | None = None,
        on_revoked: PartitionsHook | None = None,
        client_id: str | None = None,
        key_log_field: str = "complaint_id",
        flush_order: FlushOrder = FlushOrder.EVENTS_FIRST,
        max_records: int = 500,
        max_concurrency: int = 100,
    ) -> None:
        self._topics = list(topics)
        self._group = group_id
        self._key_log_field = key_log_field
        self._handler = handler
        self._decode = decode
        self._wanted = frozenset(event_types) if event_types is not None else None
        self._producer = producer
        self._dead_letters = dead_letters
        self._retry = retry or RetryPolicy()
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked
        self._flush_order = flush_order
        self._max_records = max_records
        self._max_concurrency = max_concurrency
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
            fetched = await self._consumer.getmany(timeout_ms=500, max_records=self._max_records)
            async with self._batch:
                if self._fatal is not None:
                    raise RuntimeError("partition state could not be restored") from self._fatal
                if fetched:
                    await self._handle_batch(fetched)

    async def _handle_batch(self, fetched: dict[TopicPartition, list[Record]]) -> None:
        started = time.perf_counter()
        lanes: dict[tuple[TopicPartition, bytes | None], list[Record]] = {}
        count = 0
        for partition, records in fetched.items():
            count += len(records)
            for record in records:
                if self._wanted is not None:
                    kind = header_value(record.headers, EVENT_TYPE_HEADER)
                    if kind is not None and kind not in self._wanted:
                        metrics.EVENTS_CONSUMED.labels(record.topic, kind, "skipped").inc()
                        continue
                lanes.setdefault((partition, record.key), []).append(record)
        batch = Batch(self._flush_order)
        await run_in_batch(batch, lambda: self._handle_lanes(list(lanes.values())))
        await batch.flush(self._producer)
        offsets = {partition: records[-1].offset + 1 for partition, records in fetched.items()}
        await self._consumer.commit(offsets)
        for partition, next_offset in offsets.items():
            self._report_lag(partition, next_offset)
        metrics.CONSUMER_BATCH_RECORDS.labels(self._group).observe(count)
        metrics.CONSUMER_BATCH_SECONDS.labels(self._group).observe(time.perf_counter() - started)

    async def _handle_lanes(self, lanes: list[list[Record]]) -> None:
        if len(lanes) == 1:
            await self._handle_lane(lanes[0])
            return
        room = asyncio.Semaphore(self._max_concurrency)

        async def lane(records: list[Record]) -> None:
            async with room:
                await self._handle_lane(records)

        async with asyncio.TaskGroup() as tasks:
            for records in lanes:
                tasks.create_task(lane(records))

    async def _handle_lane(self, records: list[Record]) -> None:
        for record in records:
            key = (record.key or b"").decode(errors="replace")
            with structlog.contextvars.bound_contextvars(**{self._key_log_field: key}):
                await self._process(record)

    async def _process(self, record: Record) -> None:
        started = time.perf_counter()
        decoded: list[M] = []

        async def attempt() -> None:
            if not decoded:  # decoded once, whatever the number of attempts
                decoded.append(self._decode(record.value))
            await self._handler(decoded[0])

        outcome = await handle_or_dead_letter(record, attempt, self._dead_letters, self._retry)
        kind = header_value(record.headers, EVENT_TYPE_HEADER) or "unknown"
        metrics.EVENTS_CONSUMED.labels(record.topic, kind, outcome).inc()
        metrics.EVENT_HANDLING_SECONDS.labels(kind).observe(time.perf_counter() - started)

    def _report_lag(self, partition: TopicPartition, next_offset: int) -> None:
        highwater = self._consumer.highwater(partition)
        if highwater is not None:
            metrics.CONSUMER_LAG.labels(self._group, partition.topic, partition.partition).set(
                max(0, highwater - next_offset)
            )


async def handle_or_dead_letter(
    record: SourceRecord,
    attempt_once: Callable[[], Awaitable[None]],
    dead_letters: DeadLetterPublisher,
    retry: RetryPolicy,
) -> str:
    """Handle a record, or dead-letter it with the reason: at once when retrying cannot
    help (``UndecodableMessage``, ``PermanentFailure``), after ``retry`` otherwise. An
    event of a kind from a newer producer (``UnknownEventKind``) is skipped.

    Returns the outcome, "handled", "skipped" or "dead_lettered"; never raises for the
    handler.
    """
    for attempt in range(1, retry.attempts + 1):
        try:
            await attempt_once()
            return "handled"
        except UnknownEventKind:
            return "skipped"  # counted by the caller, by topic and type header
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
