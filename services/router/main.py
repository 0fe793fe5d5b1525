"""Wires the router: events consumer, case store, directory and the absence sweep."""

from __future__ import annotations

import asyncio
import contextlib
import functools

from kintsugi.common.batch import FlushOrder
from kintsugi.common.kafka import DeadLetterPublisher
from kintsugi.common.logs import configure_logging, get_logger
from kintsugi.common.runtime import Edges, exit_on_bad_configuration, run_consumer, run_service
from kintsugi.common.timeutil import Clock, system_clock
from kintsugi.common.topics import DEAD_LETTERS, DIRECTORY_UPDATES, ROUTER_STATE
from services.router.adapters.directory_updates import follow_directory_updates
from services.router.adapters.kafka import PublishedDecisions, RouterEventHandler, StoredCases
from services.router.config import RouterSettings
from services.router.domain.directory import Directory, DirectoryError
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
    handler = RouterEventHandler(router, store, system_clock)
    # Decisions are stored before they are announced (decision 3).
    consumer = edges.event_consumer(handler, flush_order=FlushOrder.STATE_FIRST)
    kafka = edges.settings.kafka
    dead_letters = DeadLetterPublisher(
        edges.producer, kafka.topic(DEAD_LETTERS), "kintsugi-router-directory", system_clock
    )
    background = [
        asyncio.create_task(sweep_periodically(router, stop, sweep_every_s, system_clock)),
        asyncio.create_task(
            follow_directory_updates(
                router, kafka, kafka.topic(DIRECTORY_UPDATES), dead_letters, stop, system_clock
            )
        ),
    ]
    try:
        await run_consumer(consumer, stop, edges.settings.shutdown_grace_s)
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
    except DirectoryError as error:
        exit_on_bad_configuration("router", error)
    body = functools.partial(
        serve, directory=directory, sweep_every_s=settings.absence_sweep_every_s
    )
    run_service("router", settings, body)


if __name__ == "__main__":
    main()
