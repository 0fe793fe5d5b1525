"""The sla's runtime rules, apart from Faust: keep clocks for consumed events and ticks.

``ClockKeeper`` takes batches of consumed messages (from the Faust agent) and ticks (from
a Faust timer) and turns them into clock state and clock events. For each batch or tick:
the outcomes are computed against the table (with the batch's own earlier writes seen
first), their events are published together and awaited, and only then is the new state
written to the table. A crash in between repeats events (same ids), never loses them.
One lock serialises batches and ticks, so a tick never overwrites a milestone with stale
state.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaProducer

from kintsugi.common import metrics
from kintsugi.common.batch import Batch, run_in_batch
from kintsugi.common.codec import EVENT_TYPE_HEADER, Event, decode, event_type, header_value
from kintsugi.common.kafka import (
    DeadLetterPublisher,
    EventPublisher,
    PermanentFailure,
    RetryPolicy,
    SourceRecord,
    handle_or_dead_letter,
)
from kintsugi.common.timeutil import Clock
from services.sla.adapters.events import facts_from, milestone_for, to_events
from services.sla.domain import ClockEvent, ComplaintFactsError, StateError
from services.sla.service import Outcome, SlaService

# The events that move clocks; every other type is skipped without being decoded.
CLOCK_EVENT_TYPES = frozenset({"classified", "notification_sent", "activity"})


class ClockTable(Protocol):
    """Serialised clocks by complaint id (a Faust table in production, a dict in tests)."""

    def get(self, key: bytes) -> bytes | None: ...
    def __setitem__(self, key: bytes, value: bytes) -> None: ...
    def keys(self) -> Iterable[bytes]: ...


class ConsumedMessage(SourceRecord, Protocol):
    headers: Any  # a list of (name, value) pairs, or a mapping


class ClockKeeper:
    def __init__(
        self,
        service: SlaService,
        table: ClockTable,
        producer: Callable[[], AIOKafkaProducer],
        events_topic: str,
        dead_letters: Callable[[], DeadLetterPublisher],
        clock: Clock,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._service = service
        self._table = table
        self._producer = producer
        self._events_topic = events_topic
        self._dead_letters = dead_letters
        self._clock = clock
        self._retry = retry or RetryPolicy()
        self._lock = asyncio.Lock()
        # When each complaint next needs a tick; filled lazily for keys restored from the
        # changelog, so a tick deserialises only the complaints that are due.
        self._wakeups: dict[bytes, datetime | None] = {}

    async def handle_batch(self, messages: Sequence[ConsumedMessage]) -> None:
        async with self._lock:
            await self._in_batch(lambda changes: self._handle_all(messages, changes))

    async def tick(self) -> None:
        """Publish what has fallen due on the complaints this worker holds."""
        async with self._lock:
            now = self._clock()
            held = set(self._table.keys())
            for gone in self._wakeups.keys() - held:  # partitions handed to another worker
                del self._wakeups[gone]
            for key in held - self._wakeups.keys():
                state = self._table.get(key)
                self._wakeups[key] = self._service.next_wakeup(state) if state else None
            due = [key for key, at in self._wakeups.items() if at is not None and at <= now]
            if due:
                await self._in_batch(lambda changes: self._tick_all(due, now, changes))
            metrics.CLOCKS_OPEN.set(sum(at is not None for at in self._wakeups.values()))

    def explain(self, complaint_id: str, at: datetime) -> list[dict[str, Any]] | None:
        state = self._table.get(complaint_id.encode())
        return None if state is None else self._service.explain(state, at)

    async def _in_batch(self, work: Callable[[dict[bytes, bytes]], Any]) -> None:
        changes: dict[bytes, bytes] = {}
        batch = Batch()

        async def run() -> None:
            await work(changes)

        await run_in_batch(batch, run)
        await batch.flush(self._producer())
        for key, state in changes.items():  # only once their events are durable
            self._table[key] = state

    async def _handle_all(
        self, messages: Sequence[ConsumedMessage], changes: dict[bytes, bytes]
    ) -> None:
        for message in messages:
            kind = header_value(message.headers, EVENT_TYPE_HEADER)
            if kind is not None and kind not in CLOCK_EVENT_TYPES:
                metrics.EVENTS_CONSUMED.labels(message.topic, kind, "skipped").inc()
                continue
            complaint_id = (message.key or b"").decode(errors="replace")
            with structlog.contextvars.bound_contextvars(complaint_id=complaint_id):
                outcome = await handle_or_dead_letter(
                    message,
                    functools.partial(self._handle, message.value, changes),
                    self._dead_letters(),
                    self._retry,
                )
            metrics.EVENTS_CONSUMED.labels(message.topic, kind or "unknown", outcome).inc()

    async def _handle(self, value: bytes | None, changes: dict[bytes, bytes]) -> None:
        event = decode(value)
        try:
            await self._handle_event(event, changes)
        except (ComplaintFactsError, StateError) as error:
            raise PermanentFailure(str(error)) from error  # retrying cannot fix the data

    async def _handle_event(self, event: Event, changes: dict[bytes, bytes]) -> None:
        key = event.complaint_id.encode()
        if event_type(event) == "classified":
            facts = facts_from(event)
            await self._apply(
                key, lambda before: self._service.start(facts, before), event, changes
            )
            return
        milestone = milestone_for(event)
        if milestone is not None:
            which, at = milestone
            await self._apply(
                key,
                lambda before: self._service.milestone(before, which, at, event.event_id),
                event,
                changes,
            )

    async def _tick_all(self, due: list[bytes], now: datetime, changes: dict[bytes, bytes]) -> None:
        for key in due:
            await self._apply(key, lambda before: _tick(self._service, before, now), None, changes)

    async def _apply(
        self,
        key: bytes,
        compute: Callable[[bytes | None], Outcome],
        cause: Event | None,
        changes: dict[bytes, bytes],
    ) -> None:
        before = changes.get(key) or self._table.get(key)
        outcome = compute(before)
        await self._publish(outcome.events, cause)
        if outcome.state is not None and outcome.state != before:
            changes[key] = outcome.state
        self._wakeups[key] = outcome.next_wakeup

    async def _publish(self, clock_events: list[ClockEvent], cause: Event | None) -> None:
        if not clock_events:
            return
        publisher = EventPublisher(self._producer(), self._events_topic)
        await publisher.publish(*to_events(clock_events, cause))
        for e in clock_events:
            metrics.CLOCK_TRANSITIONS.labels(e.policy_id, e.clock_kind, e.transition).inc()
            if e.transition == "started":
                metrics.CLOCKS_STARTED.labels(e.policy_id, e.clock_kind).inc()


def _tick(service: SlaService, before: bytes | None, now: datetime) -> Outcome:
    if before is None:
        return Outcome(None, [])
    return service.tick(before, now)
