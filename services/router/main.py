"""Wires the router: events consumer, case store, directory and the absence sweep."""

from __future__ import annotations

import asyncio
import contextlib
import functools

from kintsugi.common.batch import FlushOrder
from kintsugi.common.codec import decode
from kintsugi.common.config_files import ConfigFileError
from kintsugi.common.kafka import DeadLetterPublisher, EventPublisher
from kintsugi.common.logs import configure_logging, get_logger
from kintsugi.common.runtime import Edges, exit_on_bad_configuration, run_consumer, run_service
from kintsugi.common.timeutil import Clock, system_clock
from kintsugi.common.topics import DEAD_LETTERS, DIRECTORY_UPDATES, ROUTER_INBOX, ROUTER_STATE
from services.router.adapters.directory_updates import FollowerHealth, follow_directory_updates
from services.router.adapters.kafka import (
    Forwarder,
    PublishedDecisions,
    RouterEventHandler,
    StoredCases,
)
from services.router.config import RouterSettings
from services.router.domain.directory import Directory
from services.router.service import Router

log = get_logger(__name__)


async def sweep_periodically(
    router: Router, stop: asyncio.Event, every_s: float, clock: Clock
) -> None:
    """Absence is the passing of time with no event: look for it on a timer."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_s)
        if stop.is_set():
            return
        try:
            await router.sweep(clock())
        except Exception as error:  # the next tick tries again; the consumer must go on
            log.error("absence_sweep_failed", error=repr(error))


async def serve(
    edges: Edges, stop: asyncio.Event, *, directory: Directory, sweep_every_s: float
) -> None:
    store = edges.store(ROUTER_STATE)
    router = Router(directory, StoredCases(store), PublishedDecisions(edges.events, system_clock))
    kafka = edges.settings.kafka
    # Stage one: every replica forwards its complaint-events partitions to the inbox.
    forwarder = edges.event_consumer(
        Forwarder(EventPublisher(edges.producer, kafka.topic(ROUTER_INBOX)))
    )
    # Stage two: the one owner of the single inbox partition decides (one writer for all
    # load and every customer's owner). Decisions are stored before announced (decision 3).
    handler = RouterEventHandler(router, store, system_clock, ROUTER_STATE.partitions)
    decider = edges.consumer(
        [ROUTER_INBOX],
        handler,
        decode=decode,
        event_types=handler.event_types,
        on_assigned=handler.partitions_assigned,
        on_revoked=handler.partitions_revoked,
        flush_order=FlushOrder.STATE_FIRST,
        group_suffix="-decider",
    )
    dead_letters = DeadLetterPublisher(
        edges.producer, kafka.topic(DEAD_LETTERS), "kintsugi-router-directory", system_clock
    )
    background = [
        asyncio.create_task(sweep_periodically(router, stop, sweep_every_s, system_clock)),
        asyncio.create_task(
            FollowerHealth(edges.health).watch(
                follow_directory_updates(
                    router, kafka, kafka.topic(DIRECTORY_UPDATES), dead_letters, stop, system_clock
                )
            )
        ),
    ]
    grace = edges.settings.shutdown_grace_s
    try:
        async with asyncio.TaskGroup() as consumers:
            consumers.create_task(run_consumer(forwarder, stop, grace))
            consumers.create_task(run_consumer(decider, stop, grace))
    finally:
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def main() -> None:
    settings = RouterSettings()
    configure_logging("router", settings.log_level)
    try:
        directory = Directory.load(settings.directory_file)
    except ConfigFileError as error:
        exit_on_bad_configuration("router", error)
    body = functools.partial(
        serve, directory=directory, sweep_every_s=settings.absence_sweep_every_s
    )
    run_service("router", settings, body)


if __name__ == "__main__":
    main()
