"""Wires the router: events consumer, assignment store and directory."""

from __future__ import annotations

import asyncio
import functools

from kintsugi.common.batch import FlushOrder
from kintsugi.common.logs import configure_logging
from kintsugi.common.runtime import Edges, exit_on_bad_configuration, run_consumer, run_service
from kintsugi.common.timeutil import system_clock
from kintsugi.common.topics import ROUTER_STATE
from services.router.adapters.kafka import (
    PublishedAssignments,
    RouterEventHandler,
    StoredAssignments,
)
from services.router.config import RouterSettings
from services.router.domain.directory import Directory, DirectoryError
from services.router.service import Router


async def serve(edges: Edges, stop: asyncio.Event, *, directory: Directory) -> None:
    store = edges.store(ROUTER_STATE)
    router = Router(
        directory, StoredAssignments(store), PublishedAssignments(edges.events, system_clock)
    )
    handler = RouterEventHandler(router, store)
    # The owner chosen is stored before it is announced (decision 3).
    consumer = edges.event_consumer(handler, flush_order=FlushOrder.STATE_FIRST)
    await run_consumer(consumer, stop, edges.settings.shutdown_grace_s)


def main() -> None:
    settings = RouterSettings()
    configure_logging("router", settings.log_level)
    try:
        directory = Directory.load(settings.directory_file)
    except DirectoryError as error:
        exit_on_bad_configuration("router", error)
    run_service("router", settings, functools.partial(serve, directory=directory))


if __name__ == "__main__":
    main()
