"""Wires the notifier: events consumer, case store, channel senders, retry timer."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from datetime import timedelta

import aiohttp

from kintsugi.common import metrics
from kintsugi.common.logs import get_logger
from kintsugi.common.runtime import Edges, exit_on_bad_configuration, run_consumer, run_service
from kintsugi.common.timeutil import Clock, system_clock
from kintsugi.common.topics import NOTIFIER_STATE, NOTIFIER_UPDATE_CLAIMS
from services.notifier.adapters.gateway import HttpGatewaySender
from services.notifier.adapters.kafka import (
    NotifierEventHandler,
    PublishedNotifications,
    StoredCases,
)
from services.notifier.adapters.letters import PrintQueueSender
from services.notifier.adapters.smtp import SmtpEmailSender, SmtpPool, SmtpServer
from services.notifier.adapters.update_claims import KafkaUpdateClaims
from services.notifier.config import NotifierSettings
from services.notifier.domain.breaker import CircuitBreakers
from services.notifier.domain.lint import TemplatesInvalid, lint_templates
from services.notifier.domain.messages import MessageComposer
from services.notifier.domain.planner import PlanRules
from services.notifier.domain.quiet import SendingWindow
from services.notifier.domain.retry import DEFAULT_HORIZONS, RetrySchedule
from services.notifier.domain.review import ExecutiveReview
from services.notifier.service import Notifier, RetriesFailed, Sender
from services.notifier.staff_directory import load_staff_directory

log = get_logger(__name__)


def smtp_server(settings: NotifierSettings) -> SmtpServer:
    return SmtpServer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=settings.smtp_use_tls,
        start_tls=settings.smtp_start_tls,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        ehlo_name=settings.smtp_ehlo_name,
        timeout_s=settings.smtp_timeout_s,
        max_connections=settings.smtp_max_connections,
    )


def retry_schedule(settings: NotifierSettings) -> RetrySchedule:
    horizons = {
        **DEFAULT_HORIZONS,
        "acknowledgement": timedelta(hours=settings.acknowledgement_horizon_h),
    }
    return RetrySchedule(
        first_backoff=timedelta(seconds=settings.retry_first_backoff_s),
        max_backoff=timedelta(seconds=settings.retry_max_backoff_s),
        horizons=horizons,
    )


def executive_review(settings: NotifierSettings) -> ExecutiveReview:
    return ExecutiveReview(
        margin=timedelta(hours=settings.executive_review_margin_h),
        longest_hold=timedelta(hours=settings.executive_review_longest_hold_h),
        reviewers=settings.executive_reviewers,
    )


def provider_check(notifier: Notifier, destination: str, clock: Clock) -> Callable[[], bool]:
    return lambda: notifier.breakers.healthy(destination, clock())


def seconds(waited: timedelta | None) -> float:
    return waited.total_seconds() if waited is not None else 0.0


async def retry_on_schedule(
    notifier: Notifier, stop: asyncio.Event, tick_s: float, clock: Clock
) -> None:
    """Pending deliveries go out on their own schedule, not only when new events arrive."""
    while not stop.is_set():
        try:
            await notifier.retry_due()
        except RetriesFailed as failed:
            # The others went ahead; these stay due and are tried on the next pass.
            for complaint_id, error in failed.failures.items():
                log.error("retry_failed", complaint_id=complaint_id, error=repr(error))
        backlog = notifier.backlog()
        metrics.NOTIFICATIONS_PENDING.set(backlog.retrying)
        metrics.NOTIFICATION_OLDEST_PENDING_SECONDS.set(seconds(backlog.oldest_retry))
        metrics.NOTIFICATIONS_HELD_FOR_REVIEW.set(backlog.held_for_review)
        metrics.NOTIFICATION_OLDEST_HELD_FOR_REVIEW_SECONDS.set(seconds(backlog.oldest_hold))
        now = clock()
        for destination, state in notifier.breakers.report(now).items():
            metrics.NOTIFICATION_PROVIDER_UP.labels(destination).set(state == "closed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=tick_s)


async def serve(
    edges: Edges,
    stop: asyncio.Event,
    *,
    settings: NotifierSettings,
    clock: Clock = system_clock,
) -> None:
    try:
        lint_templates(organisation=settings.organisation_name)
        secret = settings.gateway_secret() if settings.gateway_urls() else b""
        staff_emails = load_staff_directory(settings.staff_directory_file)
    except (TemplatesInvalid, ValueError) as error:  # ConfigFileError is a ValueError
        exit_on_bad_configuration("notifier", error)
    store = edges.store(NOTIFIER_STATE)
    pool = SmtpPool(smtp_server(settings))
    senders: dict[str, Sender] = {
        "email": SmtpEmailSender(
            pool,
            from_address=settings.smtp_from_address,
            from_name=settings.organisation_name,
            clock=clock,
        )
    }
    kafka = edges.settings.kafka
    claims = KafkaUpdateClaims(
        edges.producer,
        kafka,
        kafka.topic(NOTIFIER_UPDATE_CLAIMS),
        settings.progress_updates_per_day,
    )
    await claims.start()
    edges.health.add_check("update-claims", lambda: claims.healthy)
    async with aiohttp.ClientSession() as session:
        for channel, url in settings.gateway_urls().items():
            senders[channel] = HttpGatewaySender(
                channel=channel,
                url=url,
                secret=secret,
                session=session,
                clock=clock,
                timeout_s=settings.gateway_timeout_s,
            )
        if settings.print_queue_topic:
            senders["letter"] = PrintQueueSender(edges.producer, settings.print_queue_topic)
        notifier = Notifier(
            StoredCases(store),
            senders,
            PublishedNotifications(edges.events, clock),
            MessageComposer(settings.organisation_name),
            clock,
            schedule=retry_schedule(settings),
            breakers=CircuitBreakers(
                settings.breaker_failures, timedelta(seconds=settings.breaker_cooldown_s)
            ),
            rules=PlanRules(settings.delay_notice_from_percent, staff_emails),
            attempt_timeout_s=settings.attempt_timeout_s,
            window=SendingWindow(settings.quiet_from, settings.quiet_until),
            review=executive_review(settings),
            allowance=claims,
        )
        for sender in senders.values():
            destination = sender.destination("")
            # A provider whose circuit is open makes the worker unready, naming it: honest
            # about what it cannot do, while pending messages wait in durable state.
            edges.health.add_check(
                f"provider:{destination}", provider_check(notifier, destination, clock)
            )
        handler = NotifierEventHandler(notifier, store)
        consumer = edges.event_consumer(handler)
        retries = asyncio.create_task(
            retry_on_schedule(notifier, stop, settings.retry_tick_s, clock)
        )
        try:
            await run_consumer(consumer, stop, edges.settings.shutdown_grace_s)
        finally:
            stop.set()
            await retries
            await pool.close()
            await claims.stop()


def main() -> None:
    settings = NotifierSettings()
    run_service("notifier", settings, functools.partial(serve, settings=settings))


if __name__ == "__main__":
    main()
