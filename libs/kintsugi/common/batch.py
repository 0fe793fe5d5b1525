"""One fetched batch of records as a unit of work: outputs deferred, flushed together.

While a consumer handles a batch, everything its handlers send to Kafka (events, dead
letters, state writes) is collected here instead of being awaited one by one. When every
record of the batch has been handled the consumer flushes: events and dead letters first,
then state, each group sent at once and awaited together, and only then commits offsets.
So the guarantees of the one-at-a-time loop hold ("publish, then store, then commit"; a
crash repeats work with the same ids and never loses it) at the cost of one broker round
trip per batch instead of one per record.

Code outside a consumer batch (the gRPC API, a timer) sees no batch and sends at once.
The batch travels in a context variable, so handlers need no extra parameter and the
tasks a consumer starts for each key inherit it.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

Headers = list[tuple[str, bytes]]
Delivered = Callable[[RecordMetadata], None]


class FlushOrder(Enum):
    # Derived events are durable before the state that says they were derived: a crash
    # in between repeats them (same ids) instead of losing them. The default.
    EVENTS_FIRST = "events_first"
    # A decision is durable before it is announced, so a replay re-announces the same
    # decision instead of taking a new one (the router's choice of owner).
    STATE_FIRST = "state_first"


@dataclass(slots=True)
class _Send:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers
    delivered: Delivered | None


@dataclass
class Batch:
    order: FlushOrder = FlushOrder.EVENTS_FIRST
    _events: list[_Send] = field(default_factory=list)
    # Compacted state: only the last value of a key within a batch needs to be written.
    _state: dict[tuple[str, bytes], _Send] = field(default_factory=dict)

    def publish(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Headers | None = None,
        delivered: Delivered | None = None,
    ) -> None:
        self._events.append(_Send(topic, key, value, headers or [], delivered))

    def write_state(
        self, topic: str, key: bytes, value: bytes | None, delivered: Delivered | None = None
    ) -> None:
        self._state[(topic, key)] = _Send(topic, key, value, [], delivered)

    def drop_state(self, topic: str, key: bytes) -> None:
        """A newer value of ``key`` was written directly: the queued one is stale."""
        self._state.pop((topic, key), None)

    @property
    def pending(self) -> int:
        return len(self._events) + len(self._state)

    async def flush(self, producer: AIOKafkaProducer) -> None:
        """Send everything in its order; return once the broker acknowledged all of it."""
        state = list(self._state.values())
        groups = [self._events, state]
        if self.order is FlushOrder.STATE_FIRST:
            groups.reverse()
        for sends in groups:
            await _send_all(producer, sends)
        self._events = []
        self._state = {}


async def _send_all(producer: AIOKafkaProducer, sends: list[_Send]) -> None:
    if not sends:
        return
    futures = [
        await producer.send(s.topic, s.value, key=s.key, headers=s.headers or None) for s in sends
    ]
    results: list[RecordMetadata] = await asyncio.gather(*futures)
    for send, metadata in zip(sends, results, strict=True):
        if send.delivered is not None:
            send.delivered(metadata)


_current: contextvars.ContextVar[Batch | None] = contextvars.ContextVar(
    "kintsugi_batch", default=None
)


def current_batch() -> Batch | None:
    """The batch being handled in this context, if any."""
    return _current.get()


async def run_in_batch(batch: Batch, work: Callable[[], Awaitable[None]]) -> None:
    """Run ``work`` (and the tasks it starts) with ``batch`` as the current batch."""
    token = _current.set(batch)
    try:
        await work()
    finally:
        _current.reset(token)
