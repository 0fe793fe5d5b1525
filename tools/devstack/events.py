"""Read complaint events back from a real topic (``make up`` journeys, e2e assertions)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from kintsugi.common.codec import Event, UndecodableMessage, UnknownEventKind, decode
from kintsugi.common.kafka import topic_partitions
from kintsugi.common.kafka_settings import KafkaSettings


class TopicTail:
    """All partitions of one topic, without a consumer group: from the start, from 'now'
    (``from_start=False``), or from the first record appended at or after ``since``
    (epoch seconds) — a test that reads only its own era does not scan the whole session's
    backlog on a shared topic."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        from_start: bool = True,
        since: float | None = None,
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            **kafka.client_options(), enable_auto_commit=False, group_id=None
        )
        self._topic = topic
        self._from_start = from_start
        self._since = since
        self._fetched: deque[ConsumerRecord[bytes, bytes]] = deque()

    async def __aenter__(self) -> TopicTail:
        await self._consumer.start()
        tps = await topic_partitions(self._consumer, self._topic)
        if not tps:
            await self._consumer.stop()
            raise LookupError(f"topic {self._topic} does not exist")
        self._consumer.assign(tps)
        if self._since is not None:
            found = await self._consumer.offsets_for_times(
                {tp: int(self._since * 1000) for tp in tps}
            )
            for tp, offset in found.items():
                if offset is None:  # nothing that recent yet: start at the end, pinned
                    await self._consumer.seek_to_end(tp)
                    await self._consumer.position(tp)
                else:
                    self._consumer.seek(tp, offset.offset)
        elif self._from_start:
            await self._consumer.seek_to_beginning(*tps)
        else:
            await self._consumer.seek_to_end(*tps)
            for tp in tps:  # pin the position now, before anything is submitted
                await self._consumer.position(tp)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def records(self, timeout_s: float) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
        """Records in fetch order; a caller that stops early and asks again resumes with
        the rest of the fetched batch, not after it."""
        deadline = time.monotonic() + timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            if not self._fetched:
                batches = await self._consumer.getmany(timeout_ms=int(min(remaining, 0.5) * 1000))
                for records in batches.values():
                    self._fetched.extend(records)
            while self._fetched:
                yield self._fetched.popleft()

    async def events(self, timeout_s: float) -> AsyncIterator[Event]:
        """Decodable events only: what is not an Event is the dead-letter path's business."""
        async for record in self.records(timeout_s):
            try:
                yield decode(record.value)
            except (UndecodableMessage, UnknownEventKind):
                continue

    async def collect(self, done: Callable[[list[Event]], bool], timeout_s: float) -> list[Event]:
        """Events until ``done(events_so_far)`` or the timeout; never raises on timeout."""
        seen: list[Event] = []
        async for event in self.events(timeout_s):
            seen.append(event)
            if done(seen):
                break
        return seen
