"""Staff messages as deployed: real Kafka in, real SMTP out. An escalation reaches its named
target and the "call the customer" task reaches the owner, once each, however often the
router's events are redelivered; the customer gets only their acknowledgement."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

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

NOW = datetime.now(UTC)


def events_for(complaint_id: str) -> list[Event]:
    def event(event_id: str, payload: Message) -> Event:
        return an_event(
            complaint_id, f"{complaint_id}-{event_id}", payload, NOW, f"{complaint_id}-received"
        )

    received = pb.ComplaintReceived(
        customer=pb.Customer(
            display_name="Jane Doe", email="jane@example.com", phone="+447700900123"
        ),
        channel=pb.CHANNEL_EMAIL,
        subject="Card declined",
    )
    received.received_at.CopyFrom(to_timestamp(NOW))
    return [
        event("received", received),
        event("assigned", pb.ComplaintAssigned(handler_name="Mei Chen", team_name="Cards")),
        event(
            "escalated",
            cpb.Escalated(
                level=2,
                to_handler_id="grace.mensah",
                to_name="Grace Mensah",
                reasons=[pb.Reason(code="clock.90", detail="90% of the final response time gone")],
            ),
        ),
        event(
            "call",
            pb.CallCustomerRequested(
                handler_id="mei.chen",
                handler_name="Mei Chen",
                reasons=[pb.Reason(code="exchanges.3", detail="three exchanges, no resolution")],
            ),
        ),
    ]


def mail_to(box: Mailbox, complaint_id: str, address: str) -> list[str]:
    return [
        m.get_body().get_content() if m.is_multipart() else m.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for m in list(box.messages)
        if m["X-Kintsugi-Complaint-Id"] == complaint_id and address in str(m["To"])
    ]


async def test_escalation_and_call_task_reach_their_staff_once_each(
    kafka_settings: KafkaSettings,
    unique: str,
    mailbox: tuple[object, Mailbox],
    tmp_path: Path,
) -> None:
    controller, box = mailbox
    directory = tmp_path / "staff.yaml"
    directory.write_text(
        "staff:\n  grace.mensah: grace@bank.example\n  mei.chen: mei@bank.example\n",
        encoding="utf-8",
    )
    settings = NotifierSettings(
        kafka=kafka_settings,
        consumer_group=f"notifier-{unique}",
        smtp_port=controller.port,  # type: ignore[attr-defined]
        ops_port=0,
        retry_tick_s=0.5,
        shutdown_grace_s=5,
        staff_directory_file=directory,
    )
    producer = make_producer(kafka_settings, "test-publisher")
    await producer.start()
    publisher = EventPublisher(producer, kafka_settings.topic(COMPLAINT_EVENTS))
    complaint_id = str(uuid.uuid4())
    try:
        async with running_notifier(settings) as health:
            await until(lambda: all(health.report().values()) and bool(health.report()))
            await publisher.publish(*events_for(complaint_id))
            await until(
                lambda: (
                    bool(mail_to(box, complaint_id, "grace@bank.example"))
                    and bool(mail_to(box, complaint_id, "mei@bank.example"))
                )
            )
            await publisher.publish(*events_for(complaint_id))  # redelivered
            await asyncio.sleep(5)  # room for a duplicate to arrive, if one were coming
    finally:
        await producer.stop()

    [escalation] = mail_to(box, complaint_id, "grace@bank.example")
    assert "escalated to you" in escalation and "90% of the final response time gone" in escalation
    [call] = mail_to(box, complaint_id, "mei@bank.example")
    assert "Please call Jane Doe on +447700900123" in call
    assert "three exchanges, no resolution" in call
    assert len(mail_to(box, complaint_id, "jane@example.com")) == 1  # the acknowledgement only
