"""The daily cap is per customer, across complaints that two notifier replicas share out
between them, and survives a restart: counted at the SMTP server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, time, timedelta

from google.protobuf.message import Message

from kintsugi.common.codec import Event
from kintsugi.common.kafka import EventPublisher, make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.timeutil import to_timestamp
from kintsugi.common.topics import COMPLAINT_EVENTS
from kintsugi.events.v1 import clock_pb2 as cpb
from kintsugi.events.v1 import complaint_pb2 as pb
from services.notifier.config import NotifierSettings
from tests.events import an_event
from tests.integration.test_notifier_kafka import mailbox, running_notifier, until
from tools.devstack.mailbox import Mailbox

__all__ = ["mailbox"]  # the fixture, shared with the notifier's Kafka tests

UPDATES_PER_DAY = 2


def complaint_of(customer_id: str, complaint_id: str) -> list[Event]:
    now = datetime.now(UTC)

    def event(name: str, payload: Message) -> Event:
        return an_event(
            complaint_id, f"{complaint_id}-{name}", payload, now, f"{complaint_id}-received"
        )

    received = pb.ComplaintReceived(
        customer=pb.Customer(
            customer_id=customer_id,
            display_name="Jane Doe",
            email=f"{complaint_id}@example.com",
            preferred_language="en-GB",
        ),
        channel=pb.CHANNEL_EMAIL,
        subject="Card declined",
    )
    received.received_at.CopyFrom(to_timestamp(now))
    update = cpb.CustomerUpdateDue(
        clock=cpb.ClockRef(clock_id="int-progress-high", clock_kind="progress_update")
    )
    update.due_at.CopyFrom(to_timestamp(now + timedelta(hours=4)))
    update.update_by.CopyFrom(to_timestamp(now))
    return [
        event("received", received),
        event("classified", pb.ComplaintClassified(regime="uk-fca-disp")),
        event("assigned", pb.ComplaintAssigned(handler_name="Mei Chen", team_name="Cards")),
        event("update-due", update),
    ]


def subjects(box: Mailbox, complaints: list[str]) -> list[str]:
    return [
        str(m["Subject"]) for m in list(box.messages) if m["X-Kintsugi-Complaint-Id"] in complaints
    ]


def updates(box: Mailbox, complaints: list[str]) -> int:
    return sum(1 for s in subjects(box, complaints) if s.startswith("An update"))


def acknowledgements(box: Mailbox, complaints: list[str]) -> int:
    return sum(1 for s in subjects(box, complaints) if s.startswith("We're on it"))


async def test_one_customers_complaints_on_two_replicas_share_one_daily_cap(
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
        progress_updates_per_day=UPDATES_PER_DAY,
        # Quiet hours are tested on their own; here a progress update may go at any hour.
        quiet_from=time(0, 0, 0),
        quiet_until=time(0, 0, 1),
    )
    producer = make_producer(kafka_settings, "test-publisher")
    await producer.start()
    publisher = EventPublisher(producer, kafka_settings.topic(COMPLAINT_EVENTS))
    customer, other_customer = f"jane-{unique}", f"john-{unique}"
    janes = [str(uuid.uuid4()) for _ in range(4)]
    johns = [str(uuid.uuid4())]
    try:
        async with running_notifier(settings) as one, running_notifier(settings) as two:
            await until(lambda: all(h.report() and all(h.report().values()) for h in (one, two)))
            for complaint_id in janes[:3]:
                await publisher.publish(*complaint_of(customer, complaint_id))
            await publisher.publish(*complaint_of(other_customer, johns[0]))
            await until(lambda: acknowledgements(box, janes[:3]) == 3)
            await until(lambda: updates(box, janes) == UPDATES_PER_DAY)
            await until(lambda: updates(box, johns) == 1)  # a cap of his own
        async with running_notifier(settings) as health:  # restarted: the claims are read again
            await until(lambda: bool(health.report()) and all(health.report().values()))
            await publisher.publish(*complaint_of(customer, janes[3]))
            await until(lambda: acknowledgements(box, janes) == 4)  # never capped
            await asyncio.sleep(5)  # room for an update over the cap, if one were coming
    finally:
        await producer.stop()

    assert updates(box, janes) == UPDATES_PER_DAY, subjects(box, janes)
    assert acknowledgements(box, johns) == updates(box, johns) == 1
