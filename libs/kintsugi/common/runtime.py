"""What every asyncio service shares at its edges, wired once.

``run_service`` configures logging, starts the ops endpoint and an idempotent producer,
hands them to the service's ``body`` together with a stop event set by SIGTERM/SIGINT,
and tears everything down in order when the body returns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from aiokafka import AIOKafkaProducer, TopicPartition

from kintsugi.common.batch import FlushOrder
from kintsugi.common.codec import Event, decode
from kintsugi.common.kafka import (
    ConsumerLoop,
    DeadLetterPublisher,
    EventPublisher,
    M,
    MessageHandler,
    PartitionsHook,
    make_producer,
)
from kintsugi.common.lifecycle import stop_event_on_signals
from kintsugi.common.logs import configure_logging, get_logger
from kintsugi.common.ops_server import Health, OpsServer
from kintsugi.common.settings import ServiceSettings
from kintsugi.common.state_store import CompactedStore
from kintsugi.common.timeutil import system_clock
from kintsugi.common.topics import COMPLAINT_EVENTS, DEAD_LETTERS, TopicSpec


@dataclass(frozen=True)
class Edges:
    name: str
    settings: ServiceSettings
    health: Health
    ops: OpsServer
    producer: AIOKafkaProducer

    @property
    def events(self) -> EventPublisher:
        return EventPublisher(self.producer, self.settings.kafka.topic(COMPLAINT_EVENTS))

    def store(self, spec: TopicSpec) -> CompactedStore:
        kafka = self.settings.kafka
        return CompactedStore(self.producer, kafka, kafka.topic(spec))

    def event_consumer(
        self,
        handler: EventHandler,
        flush_order: FlushOrder = FlushOrder.EVENTS_FIRST,
    ) -> ConsumerLoop[Event]:
        """A consumer of the complaint-events topic that decodes only the types it handles."""
        return self.consumer(
            [COMPLAINT_EVENTS],
            handler,
            decode=decode,
            event_types=handler.event_types,
            on_assigned=handler.partitions_assigned,
            on_revoked=handler.partitions_revoked,
            flush_order=flush_order,
        )

    def consumer(
        self,
        topics: Iterable[TopicSpec],
        handler: MessageHandler[M],
        *,
        decode: Callable[[bytes | None], M],
        event_types: Iterable[str] | None = None,
        on_assigned: PartitionsHook | None = None,
        on_revoked: PartitionsHook | None = None,
        key_log_field: str = "complaint_id",
        flush_order: FlushOrder = FlushOrder.EVENTS_FIRST,
        group_suffix: str = "",
    ) -> ConsumerLoop[M]:
        """``group_suffix`` names a second consumer group of the same service (a topic
        whose messages need another decoder)."""
        kafka = self.settings.kafka
        group = (self.settings.consumer_group or f"kintsugi-{self.name}") + group_suffix
        loop = ConsumerLoop(
            kafka=kafka,
            group_id=group,
            client_id=f"kintsugi-{self.name}",
            topics=[kafka.topic(spec) for spec in topics],
            handler=handler,
            decode=decode,
            event_types=event_types,
            producer=self.producer,
            dead_letters=DeadLetterPublisher(
                self.producer, kafka.topic(DEAD_LETTERS), group, system_clock
            ),
            on_assigned=on_assigned,
            on_revoked=on_revoked,
            key_log_field=key_log_field,
            flush_order=flush_order,
            max_records=self.settings.consumer_max_records,
            max_concurrency=self.settings.consumer_max_concurrency,
        )
        self.health.add_check(f"consumer:{group}", lambda: loop.joined)
        return loop


class EventHandler(Protocol):
    """Handles complaint events; declares the types it needs so the rest stay undecoded."""

    event_types: frozenset[str]

    async def __call__(self, event: Event) -> None: ...
    async def partitions_assigned(self, partitions: set[TopicPartition]) -> None: ...
    async def partitions_revoked(self, partitions: set[TopicPartition]) -> None: ...


ServiceBody = Callable[[Edges, asyncio.Event], Awaitable[None]]


def fail_liveness_when_done(sender: asyncio.Future[Any], health: Health) -> None:
    """aiokafka's idempotent producer gives up for good on some broker answers (e.g.
    OutOfOrderSequenceNumber after the broker was frozen past the request timeout: it has
    no producer-epoch bump to recover with): its sender task ends and every later send
    fails, while the service still looks ready. Only a new process mends that, so liveness
    fails and the orchestrator starts one (found by ``make chaos``)."""

    def ended(task: asyncio.Future[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            health.fail(f"kafka producer stopped: {task.exception()!r}")

    sender.add_done_callback(ended)


async def _run(name: str, settings: ServiceSettings, body: ServiceBody) -> None:
    log = get_logger(name)
    stop = stop_event_on_signals()
    health = Health()
    ops = OpsServer(health, settings.ops_host, settings.ops_port)
    producer = make_producer(settings.kafka, f"kintsugi-{name}")
    await producer.start()
    fail_liveness_when_done(producer._sender.sender_task, health)
    await ops.start()
    log.info("started", ops_port=ops.bound_port)
    try:
        await body(Edges(name, settings, health, ops, producer), stop)
    finally:
        log.info("stopping")
        health.shutting_down = True
        await producer.stop()
        await ops.stop()
        log.info("stopped")


async def run_consumer(loop: ConsumerLoop[Any], stop: asyncio.Event, grace_s: float) -> None:
    """Consume until stopped; the batch in hand is finished and committed first, if that
    takes no longer than ``grace_s`` (else it is abandoned uncommitted: the partitions'
    next owner handles it again, with the same ids)."""
    await loop.start()
    running = asyncio.create_task(loop.run(stop))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([running, stopping], return_when=asyncio.FIRST_COMPLETED)
        if not running.done():
            await asyncio.wait([running], timeout=grace_s)
        if running.done():
            running.result()  # a consumer that failed fails the service
        else:
            get_logger("runtime").warning("batch_abandoned_at_shutdown", grace_s=grace_s)
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
    finally:
        stopping.cancel()
        running.cancel()
        await loop.stop()


def exit_on_bad_configuration(name: str, error: Exception) -> NoReturn:
    """A configuration file that fails validation: say exactly what, exit 2, start nothing."""
    get_logger(name).error("configuration_invalid", error=str(error))
    raise SystemExit(2)


def run_service(name: str, settings: ServiceSettings, body: ServiceBody) -> None:
    configure_logging(name, settings.log_level, settings.library_log_level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(name, settings, body))
