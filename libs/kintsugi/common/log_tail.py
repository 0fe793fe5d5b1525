"""Every replica reads a whole topic, in log order, for as long as it runs.

A shared log decides things no single partition owner can: the first claim on an id
(intake's ledger), a customer's place under a daily cap (the notifier's update claims).
Each replica reads every partition from the start (retention bounds how far back) and
hands each record to ``apply`` in order; whoever appends a record and then waits until it
has been read back (``reached``) knows every earlier record was applied, so every replica
reaches the same verdict without talking to the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer

from kintsugi.common.kafka import topic_partitions
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.logs import get_logger

log = get_logger(__name__)

# One record: value, partition, offset.
Apply = Callable[[bytes | None, int, int], None]


class LogTail:
    def __init__(self, kafka: KafkaSettings, topic: str, apply: Apply) -> None:
        self._topic = topic
        self._apply = apply
        self._consumer = AIOKafkaConsumer(
            **kafka.client_options(), enable_auto_commit=False, group_id=None
        )
        self._read_up_to: dict[int, int] = {}  # partition -> next offset to read
        self._progress = asyncio.Condition()
        self._tail: asyncio.Task[None] | None = None
        self.caught_up = False
        self._wakeup: asyncio.Future[None] | None = None

    @property
    def healthy(self) -> bool:
        return self.caught_up and self._tail is not None and not self._tail.done()

    async def start(self) -> None:
        """Read the whole topic, then keep following it in the background."""
        await self._consumer.start()
        partitions = await topic_partitions(self._consumer, self._topic)
        if not partitions:
            raise LookupError(f"topic {self._topic} does not exist")
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        ends = await self._consumer.end_offsets(partitions)
        self._tail = asyncio.create_task(self._follow(), name=f"tail:{self._topic}")
        for tp, end in ends.items():
            await self.reached(tp.partition, end)
        self.caught_up = True

    async def stop(self) -> None:
        if self._tail is not None:
            self._tail.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tail
        await self._consumer.stop()

    async def sync(self) -> None:
        """Wait until everything written to the topic so far has been applied."""
        ends = await self._consumer.end_offsets(list(self._consumer.assignment()))
        for tp, end in ends.items():
            await self.reached(tp.partition, end)

    async def reached(self, partition: int, offset: int) -> None:
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
            raise RuntimeError(f"the tail of {self._topic} stopped") from failure

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
            log.exception("log_tail_failed", topic=self._topic)
            raise
        finally:
            # Waiters see the tail is gone instead of waiting for ever.
            asyncio.get_running_loop().call_soon(self._wake_waiters)

    def _wake_waiters(self) -> None:
        self._wakeup = asyncio.ensure_future(self._notify())

    async def _notify(self) -> None:
        async with self._progress:
            self._progress.notify_all()
