"""The ledger on Kafka: claims and publication markers on the intake-submissions topic.

Each replica reads every partition of the topic from the start, for as long as it runs,
into a ``ClaimTable``; it serves nothing before it has read up to the end it saw at start.
A claim is written with acks=all and the replica then reads its partition up to the claim
itself, so the table has every earlier claim for the same id when it decides who won.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from kintsugi.common.batch import current_batch
from kintsugi.common.kafka import topic_partitions
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.logs import get_logger
from kintsugi.intake.v1 import intake_pb2
from services.intake.ledger import Claim, ClaimTable, LedgerEntry

log = get_logger(__name__)


def claim_record(claim: Claim) -> bytes:
    return intake_pb2.LedgerRecord(
        key=claim.key,
        fingerprint=claim.fingerprint,
        events=list(claim.events),
        response=claim.response,
    ).SerializeToString()


def published_record(entry: LedgerEntry) -> bytes:
    return intake_pb2.LedgerRecord(
        key=entry.key, fingerprint=entry.fingerprint, published=True
    ).SerializeToString()


class KafkaLedger:
    def __init__(self, producer: AIOKafkaProducer, kafka: KafkaSettings, topic: str) -> None:
        self._producer = producer
        self._topic = topic
        self._consumer = AIOKafkaConsumer(
            **kafka.client_options(), enable_auto_commit=False, group_id=None
        )
        self.table = ClaimTable()
        self._read_up_to: dict[int, int] = {}  # partition -> next offset to read
        self._progress = asyncio.Condition()
        self._tail: asyncio.Task[None] | None = None
        self.caught_up = False
        self._wakeup: asyncio.Future[None] | None = None

    @property
    def healthy(self) -> bool:
        return self.caught_up and self._tail is not None and not self._tail.done()

    async def start(self) -> None:
        """Read the whole ledger, then keep following it in the background."""
        await self._consumer.start()
        partitions = await topic_partitions(self._consumer, self._topic)
        if not partitions:
            raise LookupError(f"topic {self._topic} does not exist")
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        ends = await self._consumer.end_offsets(partitions)
        self._tail = asyncio.create_task(self._follow(), name="ledger-tail")
        for tp, end in ends.items():
            await self._reached(tp.partition, end)
        self.caught_up = True
        log.info("ledger_restored", topic=self._topic, ids=len(self.table))

    async def stop(self) -> None:
        if self._tail is not None:
            self._tail.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tail
        await self._consumer.stop()

    def entry(self, key: str) -> LedgerEntry | None:
        return self.table.entry(key)

    async def claim(self, claim: Claim) -> tuple[LedgerEntry, bool]:
        sent: RecordMetadata = await self._producer.send_and_wait(
            self._topic, claim_record(claim), key=claim.key.encode()
        )
        await self._reached(sent.partition, sent.offset + 1)
        entry = self.table.entry(claim.key)
        assert entry is not None, "a claim read back is in the table"
        return entry, entry.position == (sent.partition, sent.offset)

    async def mark_published(self, entry: LedgerEntry) -> None:
        value = published_record(entry)
        batch = current_batch()
        if batch is None:
            await self._producer.send_and_wait(self._topic, value, key=entry.key.encode())
            self.table.apply_published(entry.key, entry.fingerprint)
            return
        # In a consumer batch the events are flushed before state: the marker follows them.
        batch.write_state(
            self._topic,
            entry.key.encode(),
            value,
            lambda _: self.table.apply_published(entry.key, entry.fingerprint),
        )

    async def wait_published(self, key: str, timeout_s: float) -> bool:
        return await self.table.wait_published(key, timeout_s)

    async def sync(self) -> None:
        ends = await self._consumer.end_offsets(list(self._consumer.assignment()))
        for tp, end in ends.items():
            await self._reached(tp.partition, end)

    async def _reached(self, partition: int, offset: int) -> None:
        """Wait until the tail has read ``partition`` up to (not including) ``offset``."""
        async with self._progress:
            await self._progress.wait_for(
                lambda: (
                    self._read_up_to.get(partition, 0) >= offset
                    or (self._tail is not None and self._tail.done())
                )
            )
        if self._tail is not None and self._tail.done():
            failure = None if self._tail.cancelled() else self._tail.exception()
            raise RuntimeError("the ledger tail stopped") from failure

    async def _follow(self) -> None:
        try:
            while True:
                fetched = await self._consumer.getmany(timeout_ms=500)
                for tp, records in fetched.items():
                    for record in records:
                        self._apply(record.value, tp.partition, record.offset)
                positions = {
                    tp.partition: await self._consumer.position(tp)
                    for tp in self._consumer.assignment()
                }
                async with self._progress:
                    self._read_up_to.update(positions)
                    self._progress.notify_all()
        except Exception:
            log.exception("ledger_tail_failed")
            raise
        finally:
            # Waiters see the tail is gone instead of waiting for ever.
            asyncio.get_running_loop().call_soon(self._wake_waiters)

    def _wake_waiters(self) -> None:
        self._wakeup = asyncio.ensure_future(self._notify())

    async def _notify(self) -> None:
        async with self._progress:
            self._progress.notify_all()

    def _apply(self, value: bytes | None, partition: int, offset: int) -> None:
        record = intake_pb2.LedgerRecord()
        try:
            record.ParseFromString(value or b"")
        except Exception:  # a foreign record never decides anything
            log.error("ledger_record_unreadable", partition=partition, offset=offset)
            return
        if record.published:
            self.table.apply_published(record.key, record.fingerprint)
        elif record.key:
            claim = Claim(record.key, record.fingerprint, record.response, tuple(record.events))
            self.table.apply_claim(claim, (partition, offset))
