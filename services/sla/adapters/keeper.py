"""The sla's runtime rules, apart from Faust: keep clocks for consumed events and ticks.

``ClockKeeper`` takes batches of consumed messages (from the Faust agent) and ticks (from
a Faust timer) and turns them into clock state and clock events. For each batch or tick:
the outcomes are computed against the table (with the batch's own earlier writes seen
first), their events are published together and awaited, and only then is the new state
written to the table and the due-time index. A crash in between repeats events (same ids,
same bytes), never loses them. One lock serialises batches and ticks, so a tick never
overwrites a milestone with stale state.

The due-time index (one ``DueIndex`` per owned partition) is rebuilt from the table when a
partition is assigned (from each value's summary line, without decoding the state: see
``stored``) and updated on every table write, so a tick touches only the
complaints that are due. A tick works through what is due in chunks, releasing the lock
between them, so a burst of deadlines on one instant (month end, a 17:00 cut-off) fires in
full without holding up intake.

Beside the index, the keeper keeps each open complaint's regime and deadlines (as epoch
seconds), updated at the same points, so the SLA risk gauges (clocks due within the next
hours, clocks overdue, by regime) are counted when Prometheus scrapes, without a table read.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

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
from kintsugi.common.logs import get_logger
from kintsugi.common.stored_state import UnreadableState, unreadable
from kintsugi.common.timeutil import Clock
from services.sla.adapters.events import facts_from, milestone_for, to_events
from services.sla.adapters.partitions import partition_of
from services.sla.adapters.stored import pack, state_of, summary_of
from services.sla.domain import ClockEvent, ComplaintFactsError, StateError
from services.sla.domain.complaint_clocks import Replanned
from services.sla.domain.due_index import DueIndex
from services.sla.domain.instants import to_epoch
from services.sla.domain.risk import OpenDeadlines, count_risk
from services.sla.service import Outcome, SlaService

log = get_logger(__name__)

# Keys indexed between two yields to the event loop while a partition is indexed.
_INDEX_YIELD_EVERY = 500

# Moved clocks a migration report lists by name (the log has every one).
_MIGRATION_EXAMPLES = 20

# The store named in logs, metrics and dead letters about an unreadable table value.
STORE = "sla_clocks"

T = TypeVar("T")

# The events that move clocks; every other type is skipped without being decoded.
CLOCK_EVENT_TYPES = frozenset({"classified", "notification_sent", "activity"})


class ClockTable(Protocol):
    """Serialised clocks by complaint id (a Faust table in production, a dict in tests)."""

    def get(self, key: bytes) -> bytes | None: ...
    def __setitem__(self, key: bytes, value: bytes) -> None: ...
    def items(self) -> Iterable[tuple[bytes, bytes]]: ...


class ConsumedMessage(SourceRecord, Protocol):
    headers: Any  # a list of (name, value) pairs, or a mapping


@dataclass
class Migration:
    """What a migration moved (or with `dry_run`, would move) on one worker."""

    worker: str
    partitions: list[int]
    dry_run: bool
    complaints: int = 0
    clocks: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, complaint_id: str, moved: Sequence[Replanned]) -> None:
        self.complaints += 1
        self.clocks += len(moved)
        for clock in moved:
            if len(self.examples) < _MIGRATION_EXAMPLES:
                self.examples.append(
                    {
                        "complaint_id": complaint_id,
                        "clock_id": clock.clock_id,
                        "to_clock_id": clock.to_clock_id,
                        "from_version": clock.from_version,
                        "due_before": clock.due_before.isoformat(),
                        "due_after": clock.due_after.isoformat(),
                    }
                )

    def summary(self) -> dict[str, Any]:
        return {
            "worker": self.worker,
            "partitions": self.partitions,
            "dry_run": self.dry_run,
            "complaints": self.complaints,
            "clocks": self.clocks,
        }


@dataclass
class _Changes:
    """What one batch or tick decided: new states, and every touched key's next wake-up."""

    states: dict[bytes, bytes] = field(default_factory=dict)
    wakeups: dict[bytes, datetime | None] = field(default_factory=dict)
    deadlines: dict[bytes, OpenDeadlines] = field(default_factory=dict)


class ClockKeeper:
    def __init__(
        self,
        service: SlaService,
        table: ClockTable,
        producer: Callable[[], AIOKafkaProducer],
        events_topic: str,
        dead_letters: Callable[[], DeadLetterPublisher],
        clock: Clock,
        *,
        partitions: int,
        tick_chunk: int = 500,
        retry: RetryPolicy | None = None,
        worker_name: str = "",
    ) -> None:
        self._worker_name = worker_name
        self._service = service
        self._table = table
        self._producer = producer
        self._events_topic = events_topic
        self._dead_letters = dead_letters
        self._clock = clock
        self._partitions = partitions
        self._tick_chunk = tick_chunk
        self._retry = retry or RetryPolicy()
        self._lock = asyncio.Lock()
        self._due: dict[int, DueIndex[bytes]] = {}
        # Open deadlines of each complaint with a counted clock, by partition.
        self._deadlines: dict[int, dict[bytes, OpenDeadlines]] = {}
        self._assigned: frozenset[int] = frozenset()

    # --- partitions -----------------------------------------------------------------------

    async def assign(self, owned: Iterable[int]) -> None:
        """Track exactly the partitions in `owned`: forget revoked ones, and index newly
        assigned ones from the table (one pass over the held keys per assignment).

        The pass holds the lock (no batch or tick may write meanwhile, so nothing it reads
        goes stale) but yields to the event loop every few hundred keys, so heartbeats and
        the ops server keep running while a large partition is indexed.
        """
        owned = frozenset(owned)
        if owned == self._assigned:
            return
        async with self._lock:
            for revoked in self._due.keys() - owned:
                del self._due[revoked]
            for revoked in self._deadlines.keys() - owned:
                del self._deadlines[revoked]
            new = owned - self._assigned
            if new:
                await self._index(new)
            self._assigned = owned
        metrics.CLOCKS_OPEN.set(self.open_clocks)

    async def _index(self, partitions: frozenset[int]) -> None:
        entries: dict[int, list[tuple[bytes, int | None]]] = {p: [] for p in partitions}
        deadlines: dict[int, dict[bytes, OpenDeadlines]] = {p: {} for p in partitions}
        for seen, (key, value) in enumerate(self._table.items(), start=1):
            partition = partition_of(key, self._partitions)
            if partition in entries and value:
                try:
                    wakeup, open_deadlines = self._watch_points(value)
                except ValueError as error:  # what a damaged summary or state raises
                    # One unreadable value must not keep the worker from starting.
                    unreadable(STORE, _complaint(key), error)
                    continue
                entries[partition].append((key, wakeup))
                if open_deadlines.due_at:
                    deadlines[partition][key] = open_deadlines
            if seen % _INDEX_YIELD_EVERY == 0:
                await asyncio.sleep(0)
        for partition, held in entries.items():
            self._due[partition] = DueIndex(held)
        self._deadlines.update(deadlines)
        log.info(
            "due_index_rebuilt",
            partitions=sorted(partitions),
            clocks_due_later=sum(len(self._due[p]) for p in partitions),
        )

    def _watch_points(self, value: bytes) -> tuple[int | None, OpenDeadlines]:
        """A stored value's wake-up and open deadlines: from its summary line, or for a
        value written before summaries, by decoding the state."""
        summary = summary_of(value)
        if summary is not None:
            return summary
        wakeup, open_deadlines = self._service.watch_points(value)
        return (None if wakeup is None else to_epoch(wakeup)), open_deadlines

    @property
    def open_clocks(self) -> int:
        """Complaints with a transition still to come, on the partitions this worker owns."""
        return sum(len(index) for index in self._due.values())

    # --- inputs ---------------------------------------------------------------------------

    async def handle_batch(self, messages: Sequence[ConsumedMessage]) -> None:
        async with self._lock:
            await self._in_batch(lambda changes: self._handle_all(messages, changes))

    async def tick(self) -> int:
        """Publish what has fallen due on the owned partitions; the number of complaints
        looked at (each was due)."""
        now = self._clock()
        looked_at = 0
        while True:
            async with self._lock:
                due = self._pop_due(to_epoch(now))
                if not due:
                    break
                try:
                    await self._in_batch(functools.partial(self._tick_all, due, now))
                except BaseException:
                    for key, at in due:  # not handled: due again on the next tick
                        self._schedule(key, at)
                    raise
            looked_at += len(due)
            await asyncio.sleep(0)  # a waiting batch goes before the next chunk
        metrics.CLOCKS_OPEN.set(self.open_clocks)
        return looked_at

    def risk_samples(self) -> metrics.ScrapeTimeSamples:
        """The SLA risk gauges as of now, over the owned partitions (bound to the metrics
        registry, so counted at each scrape)."""
        counts = count_risk(
            (d for held in self._deadlines.values() for d in held.values()),
            to_epoch(self._clock()),
        )
        due_soon: dict[tuple[str, ...], float] = {
            (regime, horizon): n for (regime, horizon), n in counts.due_soon.items()
        }
        overdue: dict[tuple[str, ...], float] = {
            (regime,): n for regime, n in counts.overdue.items()
        }
        return {metrics.CLOCKS_DUE_SOON: due_soon, metrics.CLOCKS_OVERDUE_OPEN: overdue}

    async def migrate(self, policy_id: str, to_version: int, *, dry_run: bool) -> Migration:
        """Move the running clocks of `policy_id` on the owned partitions to `to_version`
        (``ComplaintClocks.migrate``), logging every clock moved; with `dry_run`, only say
        what would move. Idempotent: clocks already on `to_version` are left alone, so an
        interrupted migration is finished by running it again.

        The scan holds the lock (nothing goes stale under it); the changes are then made a
        chunk at a time, each recomputed from the state it replaces, releasing the lock
        between chunks so intake and ticks keep going.
        """
        self._service.require_policy(policy_id, to_version)
        now = self._clock()
        report = Migration(self._worker_name, sorted(self._assigned), dry_run)
        keys: list[bytes] = []
        async with self._lock:
            for seen, (key, value) in enumerate(self._table.items(), start=1):
                if partition_of(key, self._partitions) in self._assigned:
                    moved = self._would_move(key, value, policy_id, to_version, now)
                    if moved:
                        keys.append(key)
                        report.add(_complaint(key), moved)
                if seen % _INDEX_YIELD_EVERY == 0:
                    await asyncio.sleep(0)
        if not dry_run:
            for start in range(0, len(keys), self._tick_chunk):
                chunk = keys[start : start + self._tick_chunk]
                async with self._lock:
                    await self._in_batch(
                        functools.partial(self._migrate_all, chunk, policy_id, to_version, now)
                    )
                await asyncio.sleep(0)
        log.info(
            "clocks_migrated" if not dry_run else "clocks_migration_planned", **report.summary()
        )
        return report

    def explain(self, complaint_id: str, at: datetime) -> list[dict[str, Any]] | None:
        """The complaint's clocks as they read `at`; None if it has none, and
        ``UnreadableState`` if what is stored for it cannot be read."""
        key = complaint_id.encode()
        state = self._state_in(key, self._table.get(key))
        if state is None:
            return None
        return self._restoring(key, lambda: self._service.explain(state, at))

    # --- internals ------------------------------------------------------------------------

    def _state_in(self, key: bytes, value: bytes | None) -> bytes | None:
        """The state in a stored value; ``UnreadableState`` (logged, counted) when the value
        is not one this build can split into summary and state."""
        try:
            return state_of(value)
        except ValueError as error:  # no end to a summary line
            raise unreadable(STORE, _complaint(key), error) from error

    def _restoring(self, key: bytes, use: Callable[[], T]) -> T:
        """`use` of the service on the state stored under `key`, with a state it cannot
        restore reported as ``UnreadableState`` (logged, counted)."""
        try:
            return use()
        except StateError as error:
            # Only a stored state raises it: one that does not decode (its JSON, format
            # version or numbers), or names a clock or calendar no loaded policy has.
            raise unreadable(STORE, _complaint(key), error) from error

    def _would_move(
        self, key: bytes, value: bytes, policy_id: str, to_version: int, now: datetime
    ) -> list[Replanned]:
        """The clocks a migration would move for one stored value; none for one that cannot
        be read (logged and counted, and the others are still migrated)."""
        try:
            state = self._state_in(key, value)
            if not state:
                return []
            _, moved = self._restoring(
                key, lambda: self._service.migrate(state, policy_id, to_version, now)
            )
        except UnreadableState:
            return []
        return moved

    def _pop_due(self, now: int) -> list[tuple[bytes, int]]:
        """Up to a chunk of due keys, each with the instant to re-queue it at on failure."""
        due: list[tuple[bytes, int]] = []
        for index in self._due.values():
            due.extend((key, now) for key in index.pop_due(now, self._tick_chunk - len(due)))
            if len(due) >= self._tick_chunk:
                break
        return due

    def _schedule(self, key: bytes, at: int | None) -> None:
        partition = partition_of(key, self._partitions)
        index = self._due.get(partition)
        if index is None:
            if at is None:
                return
            # Written before this partition's assignment was seen; assign() rebuilds it.
            index = self._due[partition] = DueIndex()
        index.schedule(key, at)

    def _track(self, key: bytes, deadlines: OpenDeadlines) -> None:
        # Like the index: a partition not yet seen as assigned is rebuilt by assign().
        held = self._deadlines.setdefault(partition_of(key, self._partitions), {})
        if deadlines.due_at:
            held[key] = deadlines
        else:
            held.pop(key, None)

    async def _in_batch(self, work: Callable[[_Changes], Any]) -> None:
        changes = _Changes()
        batch = Batch()

        async def run() -> None:
            await work(changes)

        await run_in_batch(batch, run)
        await batch.flush(self._producer())
        wakeups = {
            key: None if wakeup is None else to_epoch(wakeup)
            for key, wakeup in changes.wakeups.items()
        }
        for key, state in changes.states.items():  # only once their events are durable
            self._table[key] = pack(state, wakeups[key], changes.deadlines[key])
        for key, wakeup in wakeups.items():
            self._schedule(key, wakeup)
        for key, deadlines in changes.deadlines.items():
            self._track(key, deadlines)

    async def _handle_all(self, messages: Sequence[ConsumedMessage], changes: _Changes) -> None:
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

    async def _handle(self, value: bytes | None, changes: _Changes) -> None:
        event = decode(value)
        try:
            await self._handle_event(event, changes)
        except (ComplaintFactsError, StateError) as error:
            raise PermanentFailure(str(error)) from error  # retrying cannot fix the data

    async def _handle_event(self, event: Event, changes: _Changes) -> None:
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

    async def _tick_all(
        self, due: list[tuple[bytes, int]], now: datetime, changes: _Changes
    ) -> None:
        for key, _ in due:
            # An unreadable one is logged and counted, and leaves the index; the rest tick.
            with contextlib.suppress(UnreadableState):
                await self._apply(
                    key, lambda before: _tick(self._service, before, now), None, changes
                )

    async def _migrate_all(
        self,
        keys: list[bytes],
        policy_id: str,
        to_version: int,
        now: datetime,
        changes: _Changes,
    ) -> None:
        def migrated(key: bytes, before: bytes | None) -> Outcome:
            if before is None:
                return Outcome(None, [])
            outcome, moved = self._service.migrate(before, policy_id, to_version, now)
            for clock in moved:
                log.info(
                    "clock_migrated",
                    complaint_id=key.decode(errors="replace"),
                    clock_id=clock.clock_id,
                    to_clock_id=clock.to_clock_id,
                    from_version=clock.from_version,
                    to_version=clock.to_version,
                    due_before=clock.due_before.isoformat(),
                    due_after=clock.due_after.isoformat(),
                )
            return outcome

        for key in keys:
            # An unreadable one is logged and counted; the rest of the chunk still moves.
            with contextlib.suppress(UnreadableState):
                await self._apply(key, functools.partial(migrated, key), None, changes)

    async def _apply(
        self,
        key: bytes,
        compute: Callable[[bytes | None], Outcome],
        cause: Event | None,
        changes: _Changes,
    ) -> None:
        before = changes.states.get(key) or self._state_in(key, self._table.get(key))
        # Without a stored state, a failure is the event's (a bad 'classified'), not one.
        outcome = compute(None) if before is None else self._restoring(key, lambda: compute(before))
        if any(event.complaint_id != _complaint(key) for event in outcome.events):
            # A state naming another complaint (or none) would publish events for it.
            raise unreadable(STORE, _complaint(key), StateError("it names another complaint"))
        await self._publish(outcome.events, cause)
        if outcome.state is not None and outcome.state != before:
            changes.states[key] = outcome.state
            changes.deadlines[key] = (
                outcome.deadlines or self._service.watch_points(outcome.state)[1]
            )
        changes.wakeups[key] = outcome.next_wakeup

    async def _publish(self, clock_events: list[ClockEvent], cause: Event | None) -> None:
        if not clock_events:
            return
        publisher = EventPublisher(self._producer(), self._events_topic)
        await publisher.publish(*to_events(clock_events, cause))
        for e in clock_events:
            metrics.CLOCK_TRANSITIONS.labels(e.policy_id, e.clock_kind, e.transition).inc()
            if e.transition == "started":
                metrics.CLOCKS_STARTED.labels(e.policy_id, e.clock_kind).inc()


def _complaint(key: bytes) -> str:
    return key.decode(errors="replace")


def _tick(service: SlaService, before: bytes | None, now: datetime) -> Outcome:
    if before is None:
        return Outcome(None, [])
    return service.tick(before, now)
