"""The ledger on Kafka: claims and publication markers on the intake-submissions topic.

Each replica reads every partition of the topic from the start, for as long as it runs
(``LogTail``), into a ``ClaimTable``; it serves nothing before it has read up to the end it
saw at start. A claim is written with acks=all and the replica then reads its partition up
to the claim itself, so the table has every earlier claim for the same id when it decides who won.
"""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata
from google.protobuf.message import DecodeError

from kintsugi.common import metrics
from kintsugi.common.batch import current_batch
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.log_tail import LogTail
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
        self.table = ClaimTable()
        self._log = LogTail(kafka, topic, self._apply)

    @property
    def caught_up(self) -> bool:
        return self._log.caught_up

    @property
    def healthy(self) -> bool:
        return self._log.healthy

    async def start(self) -> None:
        """Read the whole ledger, then keep following it in the background."""
        await self._log.start()
        log.info("ledger_restored", topic=self._topic, ids=len(self.table))

    async def stop(self) -> None:
        await self._log.stop()

    def entry(self, key: str) -> LedgerEntry | None:
        return self.table.entry(key)

    async def claim(self, claim: Claim) -> tuple[LedgerEntry, bool]:
        sent: RecordMetadata = await self._producer.send_and_wait(
            self._topic, claim_record(claim), key=claim.key.encode()
        )
        await self._log.reached(sent.partition, sent.offset + 1)
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
        await self._log.sync()

    def _apply(self, value: bytes | None, partition: int, offset: int) -> None:
        record = intake_pb2.LedgerRecord()
        try:
            record.ParseFromString(value or b"")
        except DecodeError:  # all a damaged record raises (fuzzed); it never decides anything
            metrics.STATE_UNREADABLE.labels("intake_ledger").inc()
            log.error("ledger_record_unreadable", partition=partition, offset=offset)
            return
        if record.published:
            self.table.apply_published(record.key, record.fingerprint)
        elif record.key:
            claim = Claim(record.key, record.fingerprint, record.response, tuple(record.events))
            self.table.apply_claim(claim, (partition, offset))
