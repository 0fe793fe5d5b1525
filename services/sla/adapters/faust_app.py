"""The SLA runtime on Faust: a changelog-backed table of every complaint's clocks.

- ``clock_keeper`` agent: consumes complaint events; 'classified' starts the clocks,
  customer notifications are milestones. Events it derives are published *before* the
  table is written, so a crash repeats events (same ids) rather than losing them.
- ``tick`` timer: every worker checks the clocks of the partitions it owns (standby
  replicas are off so a worker holds only what it owns) and publishes warnings/breaches.
- One lock serialises the two, so a tick can never overwrite a milestone with stale state.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import faust
import structlog
from aiohttp import web

from kintsugi.common import metrics
from kintsugi.common.codec import Event, decode, event_type
from kintsugi.common.kafka import (
    DeadLetterPublisher,
    EventPublisher,
    PermanentFailure,
    RetryPolicy,
    handle_or_dead_letter,
)
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.logs import get_logger
from kintsugi.common.timeutil import Clock
from kintsugi.common.topics import COMPLAINT_EVENTS, COMPLAINT_PARTITIONS
from services.sla.adapters.events import facts_from, milestone_for, to_event
from services.sla.config import SlaSettings
from services.sla.domain import ClockEvent, ComplaintFactsError, StateError
from services.sla.service import Outcome, SlaService

log = get_logger(__name__)


@dataclass
class SlaRuntime:
    app: faust.App
    explain_route: Callable[[web.Request], Any]
    started: asyncio.Event


def faust_broker(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",") if server]


def faust_credentials(kafka: KafkaSettings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    """The same security settings every aiokafka client of ours uses."""
    if kafka.uses_sasl:
        assert kafka.sasl_password is not None  # checked by KafkaSettings
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password.get_secret_value(),
            mechanism=kafka.sasl_mechanism,
            ssl_context=kafka.ssl_context(),
        )
    if kafka.uses_tls:
        return faust.SSLCredentials(kafka.ssl_context())
    return None


def build_runtime(
    settings: SlaSettings,
    service: SlaService,
    publisher: Callable[[], EventPublisher],
    dead_letters: Callable[[], DeadLetterPublisher],
    clock: Clock,
) -> SlaRuntime:
    app = faust.App(
        settings.app_id,
        broker=faust_broker(settings.kafka.bootstrap_servers),
        broker_credentials=faust_credentials(settings.kafka),
        store="memory://",
        datadir=str(settings.data_dir),
        web_enabled=False,
        topic_partitions=COMPLAINT_PARTITIONS,
        topic_replication_factor=settings.kafka.topic_replication_factor,
        table_standby_replicas=0,
        producer_acks=-1,
        broker_session_timeout=settings.session_timeout_s,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="raw",
    )
    events_topic = app.topic(
        settings.kafka.topic(COMPLAINT_EVENTS),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    clocks = app.Table(
        "clocks",
        default=None,
        key_type=bytes,
        value_type=bytes,
        partitions=COMPLAINT_PARTITIONS,
        # The timer writes outside a stream; the default partitioner puts each key in the
        # same partition as that complaint's events (same key, same partition count).
        use_partitioner=True,
    )
    lock = asyncio.Lock()
    # When each complaint next needs a tick; rebuilt lazily for keys restored from the
    # changelog, so a tick deserialises only the complaints that are due.
    wakeups: dict[bytes, datetime | None] = {}
    retry = RetryPolicy()
    started = asyncio.Event()

    async def publish(outcome_events: list[ClockEvent], cause: Event | None) -> None:
        if not outcome_events:
            return
        now = clock()
        await publisher().publish(*(to_event(e, now, cause) for e in outcome_events))
        for e in outcome_events:
            metrics.CLOCK_TRANSITIONS.labels(e.policy_id, e.clock_kind, e.transition).inc()
            if e.transition == "started":
                metrics.CLOCKS_STARTED.labels(e.policy_id, e.clock_kind).inc()

    async def apply(
        key: bytes, compute: Callable[[bytes | None], Outcome], cause: Event | None
    ) -> None:
        async with lock:
            before = clocks.get(key)
            outcome = compute(before)
            await publish(outcome.events, cause)
            if outcome.state is not None and outcome.state != before:
                clocks[key] = outcome.state
            wakeups[key] = outcome.next_wakeup

    async def handle(value: bytes | None) -> None:
        event = decode(value)
        try:
            await handle_event(event)
        except (ComplaintFactsError, StateError) as error:
            raise PermanentFailure(str(error)) from error  # retrying cannot fix the data

    async def handle_event(event: Event) -> None:
        key = event.complaint_id.encode()
        kind = event_type(event)
        if kind == "classified":
            facts = facts_from(event)
            await apply(key, lambda before: service.start(facts, before), event)
            log.info("clocks_started", complaint_id=event.complaint_id)
            return
        milestone = milestone_for(event)
        if milestone is not None:
            which, at = milestone
            await apply(key, lambda before: service.milestone(before, which, at), event)

    @app.agent(events_topic)
    async def clock_keeper(stream: Any) -> None:
        await started.wait()  # the producer our events go out on is running
        async for message_event in stream.events():
            message = message_event.message
            complaint_id = (message.key or b"").decode(errors="replace")
            with structlog.contextvars.bound_contextvars(complaint_id=complaint_id):
                outcome = await handle_or_dead_letter(
                    message, functools.partial(handle, message.value), dead_letters(), retry
                )
            metrics.EVENTS_CONSUMED.labels(message.topic, "complaint_event", outcome).inc()

    @app.timer(interval=settings.tick_interval_s)
    async def tick() -> None:
        if app.rebalancing or not started.is_set():
            return
        now = clock()
        held = set(clocks.keys())
        for gone in wakeups.keys() - held:  # partitions handed to another worker
            del wakeups[gone]
        for key in held - wakeups.keys():
            wakeups[key] = service.next_wakeup(clocks[key])
        due = [key for key, at in wakeups.items() if at is not None and at <= now]
        for key in due:
            await apply(key, lambda before: _tick(service, before, now), None)
        metrics.CLOCKS_OPEN.set(sum(at is not None for at in wakeups.values()))

    async def explain(request: web.Request) -> web.Response:
        complaint_id = request.match_info["complaint_id"]
        state = clocks.get(complaint_id.encode())
        if state is None:
            return web.json_response(
                {"error": f"no clocks for complaint {complaint_id} on this worker"}, status=404
            )
        at = clock()
        if "at" in request.query:  # "what will it read on Friday?"
            try:
                at = _aware_instant(request.query["at"])
            except ValueError as error:
                return web.json_response({"error": f"at: {error}"}, status=400)
        return web.json_response(
            {
                "complaint_id": complaint_id,
                "at": at.isoformat(),
                "clocks": service.explain(state, at),
            }
        )

    return SlaRuntime(app=app, explain_route=explain, started=started)


def _aware_instant(text: str) -> datetime:
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError("an ISO 8601 instant with its UTC offset, e.g. 2026-12-18T16:58:00+00:00")
    return instant


def _tick(service: SlaService, before: bytes | None, now: Any) -> Outcome:
    if before is None:
        return Outcome(None, [])
    return service.tick(before, now)
