"""The router on a real broker: a clock warning escalates once, to the team lead, by name."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message

from kintsugi.common.codec import Event, event_type
from kintsugi.common.kafka import EventPublisher, make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.ops_server import Health, OpsServer
from kintsugi.common.runtime import Edges
from kintsugi.common.timeutil import to_timestamp
from kintsugi.common.topics import COMPLAINT_EVENTS
from kintsugi.events.v1 import clock_pb2 as cpb
from kintsugi.events.v1 import complaint_pb2 as pb
from services.router.config import RouterSettings
from services.router.domain.directory import Directory
from services.router.main import serve
from tests.events import an_event
from tests.unit.router.fakes import SHIPPED_DIRECTORY
from tools.devstack.events import TopicTail

RECEIVED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _event(complaint_id: str, event_id: str, payload: Message, at: datetime) -> Event:
    return an_event(complaint_id, event_id, payload, at, f"received-{complaint_id}")


def _warning(complaint_id: str, event_id: str) -> Event:
    due = RECEIVED + timedelta(hours=8)
    return _event(
        complaint_id,
        event_id,
        cpb.ClockWarning(
            clock=cpb.ClockRef(
                clock_id="internal-resolution",
                clock_kind="resolution",
                regulatory=False,
                cycle=0,
            ),
            threshold_percent=75,
            due_at=to_timestamp(due),
        ),
        due - timedelta(hours=2),
    )


async def test_a_clock_warning_escalates_once_to_the_team_lead_with_the_time_left(
    isolated_kafka: KafkaSettings, unique: str
) -> None:
    settings = RouterSettings(kafka=isolated_kafka, consumer_group=f"router-{unique}", ops_port=0)
    directory = Directory.load(SHIPPED_DIRECTORY)
    complaint_id = f"complaint-{unique}"
    producer = make_producer(isolated_kafka, f"test-{unique}")
    await producer.start()
    health = Health()
    edges = Edges("router", settings, health, OpsServer(health, "127.0.0.1", 0), producer)
    stop = asyncio.Event()
    router = asyncio.create_task(serve(edges, stop, directory=directory, sweep_every_s=3600))
    publisher = EventPublisher(producer, isolated_kafka.topic(COMPLAINT_EVENTS))
    started = time.time()
    try:
        classified = pb.ComplaintClassified(
            category="fees", severity=pb.SEVERITY_MEDIUM, language="en", customer_id=unique
        )
        await publisher.publish(
            _event(complaint_id, f"classified-{unique}", classified, RECEIVED),
            _warning(complaint_id, f"warning-{unique}"),
            # The same warning redelivered under a new id (an sla replay): still one escalation.
            _warning(complaint_id, f"warning-again-{unique}"),
        )

        async with TopicTail(
            isolated_kafka, isolated_kafka.topic(COMPLAINT_EVENTS), since=started
        ) as tail:
            mine = [
                e
                async for e in tail.events(timeout_s=15)
                if e.complaint_id == complaint_id and e.producer == "router"
            ]
    finally:
        stop.set()
        await asyncio.wait_for(router, timeout=30)
        await producer.stop()

    kinds = [event_type(e) for e in mine]
    assert kinds == ["assigned", "escalated"]
    escalated = mine[1].escalated
    assert (escalated.level, escalated.to_handler_id, escalated.to_name) == (
        1,
        "amara.okafor",
        "Amara Okafor",
    )
    assert escalated.from_handler_id == mine[0].assigned.handler_id
    assert escalated.team_id == "customer-care"
    assert "internal resolution clock at 75%: 2h 00m left" in [r.detail for r in escalated.reasons]
    assert mine[1].causation_id == f"warning-{unique}"
