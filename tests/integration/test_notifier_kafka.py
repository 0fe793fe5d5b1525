"""The notifier as deployed: real Kafka in, real SMTP out, killed and restarted.

Counted at the SMTP server: one acknowledgement and one progress update per complaint,
however often the events are replayed and across a restart of the notifier.
"""

from __future__ import annotations

import asyncio
import contextlib
import time as timer
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from google.protobuf.message import Message

from kintsugi.common.codec import Event, event_type
from kintsugi.common.kafka import EventPublisher, make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.ops_server import Health, OpsServer
from kintsugi.common.runtime import Edges
from kintsugi.common.timeutil import Clock, system_clock, to_timestamp
from kintsugi.common.topics import COMPLAINT_EVENTS
from kintsugi.events.v1 import clock_pb2 as cpb
from kintsugi.events.v1 import complaint_pb2 as pb
from services.notifier.config import NotifierSettings
from services.notifier.main import serve
from tests.events import an_event
from tools.devstack.events import TopicTail
from tools.devstack.mailbox import Mailbox, start_mailbox
from tools.devstack.processes import free_port

NOW = datetime.now(UTC)


def events_for(complaint_id: str, email: str) -> list[Event]:
    def event(event_id: str, payload: Message) -> Event:
        return an_event(
            complaint_id, f"{complaint_id}-{event_id}", payload, NOW, f"{complaint_id}-received"
        )

    received = pb.ComplaintReceived(
        customer=pb.Customer(display_name="Jane Doe", email=email, preferred_language="en-GB"),
        channel=pb.CHANNEL_EMAIL,
        subject="Card declined",
    )
    received.received_at.CopyFrom(to_timestamp(NOW))
    update = cpb.CustomerUpdateDue(
        clock=cpb.ClockRef(clock_id="int-progress-high", clock_kind="progress_update")
    )
    update.due_at.CopyFrom(to_timestamp(NOW + timedelta(hours=4)))
    update.update_by.CopyFrom(to_timestamp(NOW))
    return [
        event("received", received),
        event("classified", pb.ComplaintClassified(regime="uk-fca-disp")),
        event("assigned", pb.ComplaintAssigned(handler_name="Mei Chen", team_name="Cards")),
        event("update-due", update),
    ]


def messages_for(mailbox: Mailbox, complaint_id: str) -> list[str]:
    return [
        str(m["Subject"])
        for m in list(mailbox.messages)
        if m["X-Kintsugi-Complaint-Id"] == complaint_id
    ]


async def until(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = timer.monotonic() + timeout_s
    while not condition():
        if timer.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def running_notifier(
    settings: NotifierSettings, clock: Clock = system_clock
) -> AsyncIterator[Health]:
    health = Health()
    producer = make_producer(settings.kafka, "notifier-test")
    await producer.start()
    stop = asyncio.Event()
    edges = Edges("notifier", settings, health, OpsServer(health, "127.0.0.1", 0), producer)
    task = asyncio.create_task(serve(edges, stop, settings=settings, clock=clock))
    try:
        yield health
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        await producer.stop()


@pytest.fixture
def mailbox() -> object:
    controller, box = start_mailbox()
    yield controller, box
    controller.stop()


async def test_replays_and_a_restart_send_each_message_once(
    kafka_settings: KafkaSettings, unique: str, mailbox: tuple[object, Mailbox]
) -> None:
    controller, box = mailbox
    settings = NotifierSettings(
        kafka=kafka_settings,
        consumer_group=f"notifier-{unique}",
        smtp_port=controller.port,  # type: ignore[attr-defined]
        ops_port=0,
        retry_tick_s=0.5,
        shutdown_grace_s=5,
        # Quiet hours are tested on their own; here a progress update must go at any hour.
        quiet_from=time(0, 0, 0),
        quiet_until=time(0, 0, 1),
    )
    producer = make_producer(kafka_settings, "test-publisher")
    await producer.start()
    publisher = EventPublisher(producer, kafka_settings.topic(COMPLAINT_EVENTS))
    complaints = [str(uuid.uuid4()) for _ in range(5)]
    try:
        async with running_notifier(settings) as health:
            await until(lambda: all(health.report().values()) and bool(health.report()))
            for complaint_id in complaints:
                await publisher.publish(*events_for(complaint_id, f"{complaint_id}@example.com"))
            await until(lambda: all(len(messages_for(box, c)) == 2 for c in complaints))
            # Upstream redelivers everything while the notifier runs...
            for complaint_id in complaints:
                await publisher.publish(*events_for(complaint_id, f"{complaint_id}@example.com"))
        # ...and again into a notifier that restarted from its durable state.
        for complaint_id in complaints:
            await publisher.publish(*events_for(complaint_id, f"{complaint_id}@example.com"))
        async with running_notifier(settings) as health:
            await until(lambda: all(health.report().values()) and bool(health.report()))
            await asyncio.sleep(5)  # room for a duplicate to arrive, if one were coming
    finally:
        await producer.stop()

    for complaint_id in complaints:
        subjects = messages_for(box, complaint_id)
        assert len(subjects) == 2, subjects
        assert any("We're on it" in s for s in subjects)
        assert any("An update" in s for s in subjects)


async def test_a_down_mail_server_shows_in_readiness_and_on_the_timeline_then_recovers(
    isolated_kafka: KafkaSettings, unique: str
) -> None:
    # Topics of its own: on the session's, a new group first works through every other
    # test's complaints with the mail server down, and the breaker's state is theirs too.
    port = free_port()  # nothing listens here yet
    settings = NotifierSettings(
        kafka=isolated_kafka,
        consumer_group=f"notifier-{unique}",
        smtp_port=port,
        ops_port=0,
        retry_tick_s=0.5,
        retry_first_backoff_s=0.5,
        retry_max_backoff_s=1.0,
        breaker_failures=1,
        breaker_cooldown_s=1.0,
        shutdown_grace_s=5,
    )
    check = f"provider:smtp://127.0.0.1:{port}"
    producer = make_producer(isolated_kafka, "test-publisher")
    await producer.start()
    publisher = EventPublisher(producer, isolated_kafka.topic(COMPLAINT_EVENTS))
    complaint_id = str(uuid.uuid4())
    began = timer.time()
    try:
        async with running_notifier(settings) as health:
            await until(lambda: bool(health.report()) and health.report().get(check) is True)
            await publisher.publish(*events_for(complaint_id, "down@example.com")[:3])
            await until(lambda: health.report()[check] is False)
            assert not health.ready()

            failed = await first_event(isolated_kafka, complaint_id, "notification_failed", began)
            assert failed.notification_failed.retryable
            assert "SMTP" in failed.notification_failed.reason

            controller, box = start_mailbox(port)  # the server comes back
            try:
                await until(lambda: len(messages_for(box, complaint_id)) == 1)
                await until(lambda: health.report()[check] is True)
            finally:
                controller.stop()
    finally:
        await producer.stop()


async def first_event(kafka: KafkaSettings, complaint_id: str, kind: str, since: float) -> Event:
    async with TopicTail(kafka, kafka.topic(COMPLAINT_EVENTS), since=since) as tail:
        async for event in tail.events(60):
            if event.complaint_id == complaint_id and event_type(event) == kind:
                return event
    raise AssertionError(f"no {kind} event for {complaint_id}")
