"""Wires the notifier: events consumer, case store, SMTP sender."""

from __future__ import annotations

import asyncio
import functools

from kintsugi.common.runtime import Edges, run_consumer, run_service
from kintsugi.common.timeutil import system_clock
from kintsugi.common.topics import NOTIFIER_STATE
from services.notifier.adapters.kafka import (
    NotifierEventHandler,
    PublishedNotifications,
    StoredCases,
)
from services.notifier.adapters.smtp import SmtpEmailSender
from services.notifier.config import NotifierSettings
from services.notifier.domain.messages import MessageComposer
from services.notifier.service import Notifier


async def serve(edges: Edges, stop: asyncio.Event, *, settings: NotifierSettings) -> None:
    store = edges.store(NOTIFIER_STATE)
    sender = SmtpEmailSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        from_address=settings.smtp_from_address,
        from_name=settings.organisation_name,
        start_tls=settings.smtp_start_tls,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
    )
    notifier = Notifier(
        StoredCases(store),
        sender,
        PublishedNotifications(edges.events, system_clock),
        MessageComposer(settings.organisation_name),
    )
    handler = NotifierEventHandler(notifier, store)
    consumer = edges.event_consumer(handler)
    await run_consumer(consumer, stop, edges.settings.shutdown_grace_s)


def main() -> None:
    settings = NotifierSettings()
    run_service("notifier", settings, functools.partial(serve, settings=settings))


if __name__ == "__main__":
    main()
