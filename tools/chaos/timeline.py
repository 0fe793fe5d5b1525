"""Every event and dead letter of the run, read back from the topics while it goes on.

One consumer without a group, from the first offset of every partition; it outlives a
broker restart or freeze by reconnecting where it was. A re-read record is never kept
twice (positions are tracked), so counts on the timeline are counts on the log.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from kintsugi.common.codec import DeadLetter, Event, UndecodableMessage, decode, event_type
from kintsugi.common.kafka import topic_partitions
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.topics import COMPLAINT_EVENTS, DEAD_LETTERS
from tools.chaos.quiet import close_quietly


@dataclass
class Timeline:
    kafka: KafkaSettings
    by_complaint: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))
    dead_letters: list[DeadLetter] = field(default_factory=list)
    undecodable: int = 0
    records: int = 0
    _next: dict[TopicPartition, int] = field(default_factory=dict)

    def events(self, complaint_id: str, kind: str | None = None) -> list[Event]:
        events = self.by_complaint.get(complaint_id, [])
        return events if kind is None else [e for e in events if event_type(e) == kind]

    async def follow(self, stop: asyncio.Event) -> None:
        """Read until ``stop``; then read to the end offsets of that moment, and return."""
        while True:
            consumer = AIOKafkaConsumer(
                **self.kafka.client_options(), enable_auto_commit=False, group_id=None
            )
            try:
                await consumer.start()
                await self._assign(consumer)
                while True:
                    if stop.is_set() and await self._at_end(consumer):
                        return
                    batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                    for records in batches.values():
                        for record in records:
                            self._keep(record.topic, record.value)
                            tp = TopicPartition(record.topic, record.partition)
                            self._next[tp] = record.offset + 1
            except asyncio.CancelledError:
                raise
            except Exception:  # the broker is away: start again from where we were
                await asyncio.sleep(1.0)
            finally:
                await close_quietly(consumer.stop())

    async def _assign(self, consumer: AIOKafkaConsumer) -> None:
        tps = []
        for spec in (COMPLAINT_EVENTS, DEAD_LETTERS):
            tps += await topic_partitions(consumer, self.kafka.topic(spec))
        consumer.assign(tps)
        for tp in tps:
            if tp in self._next:
                consumer.seek(tp, self._next[tp])
            else:
                await consumer.seek_to_beginning(tp)

    async def _at_end(self, consumer: AIOKafkaConsumer) -> bool:
        ends = await consumer.end_offsets(list(consumer.assignment()))
        return all(self._next.get(tp, 0) >= end for tp, end in ends.items())

    def _keep(self, topic: str, value: bytes | None) -> None:
        self.records += 1
        if topic == self.kafka.topic(DEAD_LETTERS):
            letter = DeadLetter()
            letter.ParseFromString(value or b"")
            self.dead_letters.append(letter)
            return
        try:
            event = decode(value)
        except UndecodableMessage:
            self.undecodable += 1
            return
        self.by_complaint[event.complaint_id].append(event)
