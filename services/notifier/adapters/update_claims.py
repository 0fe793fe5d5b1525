"""The per-customer daily cap on Kafka: progress updates claim a place on a shared log.

A claim is written (acks=all) to the update-claims topic, keyed by customer; every
replica reads the whole topic (``LogTail``) into a ``DailyCapTable`` in log order, and the
claimant waits until its own claim has been read back, so the verdict it acts on is the
verdict every other replica - and a restart - computes for that claim.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.log_tail import LogTail
from kintsugi.common.logs import get_logger
from services.notifier.domain.daily_cap import DailyCapTable, UpdateClaim

log = get_logger(__name__)


class KafkaUpdateClaims:
    def __init__(
        self, producer: AIOKafkaProducer, kafka: KafkaSettings, topic: str, limit: int
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._table = DailyCapTable(limit)
        # This process's claims, so it keeps only the verdicts it waits for.
        self._claimant = str(uuid.uuid4())
        self._verdicts: dict[tuple[int, int], datetime | None] = {}
        self._log = LogTail(kafka, topic, self._apply)

    @property
    def healthy(self) -> bool:
        return self._log.healthy

    async def start(self) -> None:
        await self._log.start()

    async def stop(self) -> None:
        await self._log.stop()

    async def admit(self, claim: UpdateClaim) -> datetime | None:
        record = {
            "customer": claim.customer_key,
            "notification_id": claim.notification_id,
            "at": claim.at.isoformat(),
            "claimant": self._claimant,
        }
        sent: RecordMetadata = await self._producer.send_and_wait(
            self._topic, json.dumps(record).encode(), key=claim.customer_key.encode()
        )
        await self._log.reached(sent.partition, sent.offset + 1)
        return self._verdicts.pop((sent.partition, sent.offset))

    def _apply(self, value: bytes | None, partition: int, offset: int) -> None:
        try:
            record = json.loads(value or b"")
            claim = UpdateClaim(
                record["customer"], record["notification_id"], datetime.fromisoformat(record["at"])
            )
        except (ValueError, KeyError, TypeError):  # a foreign record claims nothing
            log.error("update_claim_unreadable", partition=partition, offset=offset)
            return
        verdict = self._table.apply(claim)
        if record.get("claimant") == self._claimant:
            self._verdicts[(partition, offset)] = verdict
