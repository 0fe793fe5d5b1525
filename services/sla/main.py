"""Wires the sla service: Faust worker, policies, producer, the public API (/clocks) and the
ops endpoint (metrics, probes, migrations)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust
from aiokafka import AIOKafkaProducer

from kintsugi.common.kafka import DeadLetterPublisher, make_producer
from kintsugi.common.logs import configure_logging, get_logger
from kintsugi.common.ops_server import Health, OpsServer
from kintsugi.common.progress import (
    GroupProgressProbe,
    StallDetector,
    seed_missing_commits,
    watch_progress,
)
from kintsugi.common.runtime import exit_on_bad_configuration, fail_liveness_when_done
from kintsugi.common.timeutil import system_clock
from kintsugi.common.topics import COMPLAINT_EVENTS, DEAD_LETTERS, sla_faust_topics
from services.sla.adapters.explain_api import ApiServer
from services.sla.adapters.faust_app import build_runtime
from services.sla.adapters.migration import MIGRATIONS_PATH, MigrationApi
from services.sla.adapters.stall import StallResponder
from services.sla.adapters.topic_check import (
    ChangelogMismatch,
    create_if_missing,
    require_declared_changelog,
)
from services.sla.config import SlaSettings
from services.sla.domain import PolicyError, PolicySet
from services.sla.service import SlaService

log = get_logger("sla")


class _Producer:
    """The aiokafka producer, started with the worker (Faust owns the event loop)."""

    def __init__(self, settings: SlaSettings) -> None:
        self._settings = settings
        self.producer: AIOKafkaProducer | None = None

    def started(self) -> AIOKafkaProducer:
        assert self.producer is not None, "used before the worker started"
        return self.producer

    def dead_letters(self) -> DeadLetterPublisher:
        assert self.producer is not None, "used before the worker started"
        return DeadLetterPublisher(
            self.producer,
            self._settings.kafka.topic(DEAD_LETTERS),
            self._settings.app_id,
            system_clock,
        )


def main() -> None:
    settings = SlaSettings()
    configure_logging("sla", settings.log_level, settings.library_log_level)
    try:
        policies = PolicySet.load(settings.policies_dir)
    except PolicyError as error:
        exit_on_bad_configuration("sla", error)
    producer = _Producer(settings)
    runtime = build_runtime(
        settings, SlaService(policies), producer.started, producer.dead_letters, system_clock
    )
    app = runtime.app
    health = Health()
    ops = OpsServer(
        health,
        settings.ops_host,
        settings.ops_port,
        extra_routes=[("POST", MIGRATIONS_PATH, MigrationApi(runtime.keeper).handle)],
    )
    api = ApiServer(runtime.explain, settings.api_host, settings.api_port)
    health.add_check("worker_started", runtime.started.is_set)
    health.add_check("not_rebalancing", lambda: not app.rebalancing)

    @app.task
    async def start_edges() -> None:
        # Faust's worker configures logging its own way on start; put ours back.
        configure_logging("sla", settings.log_level, settings.library_log_level)
        producer.producer = make_producer(settings.kafka, "kintsugi-sla")
        await producer.producer.start()
        fail_liveness_when_done(producer.producer._sender.sender_task, health)
        await ops.start()
        await api.start()
        runtime.started.set()
        log.info("started", ops_port=ops.bound_port, api_port=api.bound_port)
        events_topic = settings.kafka.topic(COMPLAINT_EVENTS)
        await watch_progress(
            GroupProgressProbe(settings.kafka, settings.app_id, events_topic),
            StallDetector(settings.stall_after_s),
            settings.progress_check_interval_s,
            paused=lambda: app.rebalancing,
            on_stalled=StallResponder(app, events_topic, health),
            clock=time.monotonic,
        )

    @app.on_before_shutdown.connect
    async def stop_edges(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        health.shutting_down = True
        log.info("stopping")
        await api.stop()
        await ops.stop()
        if producer.producer is not None:
            await producer.producer.stop()

    # Our JSON handler writes to stdout; Faust must not redirect stdout into logging.
    # One event loop for the whole process: the seeding below, then the Faust worker.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # Before Faust starts, so it never creates its topics on its own terms.
    declared = sla_faust_topics(settings.app_id)
    try:
        loop.run_until_complete(create_if_missing(settings.kafka, declared))
        loop.run_until_complete(require_declared_changelog(settings.kafka, declared[0]))
    except ChangelogMismatch as error:
        exit_on_bad_configuration("sla", error)
    loop.run_until_complete(
        seed_missing_commits(
            settings.kafka, settings.app_id, settings.kafka.topic(COMPLAINT_EVENTS)
        )
    )
    worker = faust.Worker(app, loglevel=settings.log_level, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
