"""The SLA runtime on Faust: a changelog-backed table of every complaint's clocks.

The rules live in ``ClockKeeper`` (no Faust in it) and ``ExplainApi``; this module only
wires them, one named piece each:
- ``make_app``: the Faust app (store, standby replicas, producer and consumer settings);
- ``declare_clock_table``: the table, co-partitioned with the events topic;
- the ``clock_keeper`` agent hands the keeper complaint events a batch at a time (Faust
  acks a batch's offsets once it has been handled);
- the ``tick`` timer runs on every worker, for the partitions it owns (no leader-only
  work): it first tells the keeper which partitions those are, so the due-time index
  follows every rebalance, then fires what is due;
- ``ExplainApi`` answers ``GET /clocks/{id}`` on every worker, forwarding to the owner
  that Faust's assignment names (``owner_lookup``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import faust
from aiokafka import AIOKafkaProducer

from kintsugi.common import metrics
from kintsugi.common.kafka import DeadLetterPublisher
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.logs import get_logger
from kintsugi.common.timeutil import Clock
from kintsugi.common.topics import COMPLAINT_EVENTS, COMPLAINT_PARTITIONS, SLA_CLOCK_TABLE
from services.sla.adapters.explain_api import ExplainApi, OwnerLookup
from services.sla.adapters.faust_commits import use_contiguous_commits
from services.sla.adapters.faust_table import FaustClockTable
from services.sla.adapters.keeper import ClockKeeper
from services.sla.config import SlaSettings
from services.sla.service import SlaService

log = get_logger(__name__)


@dataclass
class SlaRuntime:
    app: faust.App
    keeper: ClockKeeper
    explain: ExplainApi
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


def make_app(settings: SlaSettings) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=faust_broker(settings.kafka.bootstrap_servers),
        broker_credentials=faust_credentials(settings.kafka),
        store=settings.store_url,
        datadir=str(settings.data_dir),
        web_enabled=False,
        # Faust's web server stays off; the URL only travels in the partition assignment,
        # so any worker can forward an explain request to the owner of a complaint.
        canonical_url=settings.own_url,
        topic_partitions=COMPLAINT_PARTITIONS,
        topic_replication_factor=settings.kafka.topic_replication_factor,
        # A standby keeps a warm copy of another worker's partitions, so a failover
        # need not wait for a restore from the changelog.
        table_standby_replicas=settings.standby_replicas,
        producer_acks=-1,
        # Changelog writes arrive one table key at a time; lingering 5 ms batches them
        # into a few produce requests per flush instead of one each (as make_producer does).
        producer_linger=0.005,
        consumer_group_instance_id=settings.group_instance_id,
        broker_session_timeout=settings.session_timeout_s,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="raw",
    )
    use_contiguous_commits(app)
    return app


def declare_clock_table(app: faust.App) -> Any:
    """The clock table; Faust names its changelog "<app id>-clocks-changelog", which
    topics.py declares (``sla_faust_topics``) and ``topic_check`` verifies at start."""
    return app.Table(
        SLA_CLOCK_TABLE,
        default=None,
        key_type=bytes,
        value_type=bytes,
        partitions=COMPLAINT_PARTITIONS,
        # The timer writes outside a stream; the default partitioner puts each key in the
        # same partition as that complaint's events (same key, same partition count).
        use_partitioner=True,
    )


def owned_partitions(app: faust.App, topic: str) -> set[int]:
    """The partitions of `topic` this worker actively owns (standbys are not ticked)."""
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}


def owner_lookup(app: faust.App, own_url: str) -> OwnerLookup:
    """The URL of the worker owning a complaint's clocks, from Faust's assignment; None
    for this worker, or while the assignment does not say (then answered locally)."""

    def owner_of(complaint_id: str) -> str | None:
        try:
            url = str(app.router.key_store(SLA_CLOCK_TABLE, complaint_id.encode()))
        except (KeyError, LookupError, AttributeError, AssertionError):
            return None  # no assignment yet (starting, rebalancing)
        return None if url.rstrip("/") == own_url.rstrip("/") else url

    return owner_of


# Exit status of a worker that stopped rather than let a failed batch count as handled.
BATCH_FAILED_EXIT = 70


def _exit_now(status: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # no clean-up: a clean shutdown would commit what was not handled


async def handle_or_exit(
    keeper: ClockKeeper, messages: list[Any], exit_process: Callable[[int], Any] = _exit_now
) -> None:
    """A batch the keeper could not handle (the broker away, our producer dead) ends the
    process at once. Left to Faust, the agent would crash, restart and treat the batch's
    records as done - clocks never paused, resumed or stopped (found by ``make chaos``
    after a broker restart). Dying before anything more is committed lets the partitions'
    next owner handle the batch again, with the same event ids.

    A batch cancelled half-way (the worker stopping after a crash elsewhere) ends it too:
    ``take_events`` acks a batch in a ``finally``, so once the cancellation left the loop
    body, Faust would ack and commit the batch it never finished (``make chaos``: a
    customer's reply that never resumed the clocks). A clean stop waits for the batch
    in flight to be acked before it stops the agent, so it never lands here."""
    try:
        await keeper.handle_batch(messages)
    except Exception as error:
        log.critical("batch_failed_worker_exits", error=repr(error), records=len(messages))
        exit_process(BATCH_FAILED_EXIT)
        raise
    except asyncio.CancelledError:
        log.critical("batch_cancelled_worker_exits", records=len(messages))
        exit_process(BATCH_FAILED_EXIT)
        raise


def table_ready(app: faust.App) -> bool:
    """Not rebalancing and the table restored: the table holds what the worker owns."""
    recovery = cast(Any, app.tables).recovery  # not on Faust's TableManagerT protocol
    return not app.rebalancing and bool(recovery.completed.is_set())


def build_runtime(
    settings: SlaSettings,
    service: SlaService,
    producer: Callable[[], AIOKafkaProducer],
    dead_letters: Callable[[], DeadLetterPublisher],
    clock: Clock,
) -> SlaRuntime:
    app = make_app(settings)
    events_topic_name = settings.kafka.topic(COMPLAINT_EVENTS)
    events_topic = app.topic(
        events_topic_name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    keeper = ClockKeeper(
        service,
        FaustClockTable(declare_clock_table(app), events_topic_name, COMPLAINT_PARTITIONS),
        producer,
        events_topic_name,
        dead_letters,
        clock,
        partitions=COMPLAINT_PARTITIONS,
        tick_chunk=settings.tick_chunk,
        worker_name=settings.worker_name,
    )
    metrics.CLOCK_RISK.bind(keeper.risk_samples)  # counted at each scrape
    started = asyncio.Event()

    @app.agent(events_topic)
    async def clock_keeper(stream: Any) -> None:
        await started.wait()  # the producer our events go out on is running
        # take_events acks a batch's offsets only after the loop body has handled it.
        async for batch in stream.take_events(settings.consumer_max_records, settings.batch_wait_s):
            await handle_or_exit(keeper, [event.message for event in batch])

    @app.timer(interval=settings.tick_interval_s)
    async def tick() -> None:
        if not started.is_set() or not table_ready(app):
            return
        await keeper.assign(owned_partitions(app, events_topic_name))
        await keeper.tick()

    explain = ExplainApi(keeper, clock, settings.worker_name, owner_lookup(app, settings.own_url))
    return SlaRuntime(app=app, keeper=keeper, explain=explain, started=started)
