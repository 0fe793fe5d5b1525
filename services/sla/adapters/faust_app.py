"""The SLA runtime on Faust: a changelog-backed table of every complaint's clocks.

The rules live in ``ClockKeeper`` (no Faust in it); this module only wires it:
- the ``clock_keeper`` agent hands it the complaint events a batch at a time (Faust acks
  the batch's offsets once it has been handled);
- the ``tick`` timer runs on every worker for the partitions it owns (standby replicas
  are off, so a worker holds only what it owns);
- ``explain`` answers ``GET /clocks/{complaint_id}`` from the table.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import faust
from aiohttp import web
from aiokafka import AIOKafkaProducer

from kintsugi.common.kafka import DeadLetterPublisher
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.logs import get_logger
from kintsugi.common.timeutil import Clock
from kintsugi.common.topics import COMPLAINT_EVENTS, COMPLAINT_PARTITIONS
from services.sla.adapters.keeper import ClockKeeper
from services.sla.config import SlaSettings
from services.sla.service import SlaService

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
    producer: Callable[[], AIOKafkaProducer],
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
        # Changelog writes arrive one table key at a time; lingering 5 ms batches them
        # into a few produce requests per flush instead of one each (as make_producer does).
        producer_linger=0.005,
        broker_session_timeout=settings.session_timeout_s,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="raw",
    )
    events_topic_name = settings.kafka.topic(COMPLAINT_EVENTS)
    events_topic = app.topic(
        events_topic_name,
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
    keeper = ClockKeeper(service, clocks, producer, events_topic_name, dead_letters, clock)
    started = asyncio.Event()

    @app.agent(events_topic)
    async def clock_keeper(stream: Any) -> None:
        await started.wait()  # the producer our events go out on is running
        # take_events acks a batch's offsets only after the loop body has handled it.
        async for batch in stream.take_events(settings.consumer_max_records, settings.batch_wait_s):
            await keeper.handle_batch([event.message for event in batch])

    @app.timer(interval=settings.tick_interval_s)
    async def tick() -> None:
        if app.rebalancing or not started.is_set():
            return
        await keeper.tick()

    async def explain(request: web.Request) -> web.Response:
        complaint_id = request.match_info["complaint_id"]
        at = clock()
        if "at" in request.query:  # "what will it read on Friday?"
            try:
                at = _aware_instant(request.query["at"])
            except ValueError as error:
                return web.json_response({"error": f"at: {error}"}, status=400)
        explanation = keeper.explain(complaint_id, at)
        if explanation is None:
            return web.json_response(
                {"error": f"no clocks for complaint {complaint_id} on this worker"}, status=404
            )
        return web.json_response(
            {"complaint_id": complaint_id, "at": at.isoformat(), "clocks": explanation}
        )

    return SlaRuntime(app=app, explain_route=explain, started=started)


def _aware_instant(text: str) -> datetime:
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError("an ISO 8601 instant with its UTC offset, e.g. 2026-12-18T16:58:00+00:00")
    return instant
