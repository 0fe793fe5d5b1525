"""The router on a real broker: escalation up the chain, the rule of three, queues draining.

Each test runs one router in-process on topics of its own (``isolated_kafka``), feeds it
complaint events as intake and the sla would, and reads what it announced on the topic.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from google.protobuf.message import Message

from kintsugi.common.codec import Event, event_type
from kintsugi.common.kafka import EventPublisher, make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.ops_server import Health, OpsServer
from kintsugi.common.runtime import Edges
from kintsugi.common.timeutil import to_timestamp
from kintsugi.common.topics import COMPLAINT_EVENTS, DIRECTORY_UPDATES
from kintsugi.events.v1 import clock_pb2 as cpb
from kintsugi.events.v1 import complaint_pb2 as pb
from services.router.config import RouterSettings
from services.router.domain.directory import Directory
from services.router.main import serve
from tests.events import an_event
from tests.unit.router.fakes import SHIPPED_DIRECTORY, one_team, person
from tools.devstack.events import TopicTail

RECEIVED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DUE = RECEIVED + timedelta(hours=8)
INTERNAL = cpb.ClockRef(
    clock_id="internal-resolution", clock_kind="resolution", regulatory=False, cycle=0
)
# Long enough for a redelivery or a stray second decision to show up, short for a suite.
QUIET_S = 3.0


def _event(complaint_id: str, event_id: str, payload: Message, at: datetime = RECEIVED) -> Event:
    return an_event(complaint_id, event_id, payload, at, f"received-{complaint_id}")


def _classified(complaint_id: str, customer_id: str) -> Event:
    return _event(
        complaint_id,
        f"classified-{complaint_id}",
        pb.ComplaintClassified(
            category="fees", severity=pb.SEVERITY_LOW, language="en", customer_id=customer_id
        ),
    )


def _warning(complaint_id: str) -> Event:
    warning = cpb.ClockWarning(clock=INTERNAL, threshold_percent=75, due_at=to_timestamp(DUE))
    return _event(complaint_id, f"warning-{complaint_id}", warning, DUE - timedelta(hours=2))


def _breach(complaint_id: str) -> Event:
    breach = cpb.ClockBreached(clock=INTERNAL, due_at=to_timestamp(DUE))
    return _event(complaint_id, f"breach-{complaint_id}", breach, DUE)


def _email(complaint_id: str, n: int) -> Event:
    message = pb.ActivityRecorded(
        kind=pb.ACTIVITY_KIND_CUSTOMER_MESSAGE, channel=pb.CHANNEL_EMAIL, body="any news?"
    )
    return _event(complaint_id, f"email-{n}-{complaint_id}", message)


def _resolved(complaint_id: str) -> Event:
    resolution = pb.ActivityRecorded(
        kind=pb.ACTIVITY_KIND_STATUS_CHANGE, new_status=pb.STATUS_RESOLVED
    )
    return _event(complaint_id, f"resolved-{complaint_id}", resolution)


@dataclass
class RunningRouter:
    kafka: KafkaSettings
    producer: AIOKafkaProducer
    publisher: EventPublisher
    tail: TopicTail
    decided: list[Event]

    async def publish(self, *events: Event) -> None:
        await self.publisher.publish(*events)

    async def directory_update(self, handler_id: str, update: dict[str, object]) -> None:
        """What a workforce-management system publishes on the directory-updates topic."""
        topic = self.kafka.topic(DIRECTORY_UPDATES)
        value = json.dumps(update).encode()
        await self.producer.send_and_wait(topic, value, key=handler_id.encode())

    async def until(self, done: Callable[[list[Event]], bool], timeout_s: float = 20) -> None:
        """Read the router's announcements until ``done(all so far)`` or the timeout."""
        if done(self.decided):
            return
        async for event in self.tail.events(timeout_s):
            if event.producer == "router":
                self.decided.append(event)
                if done(self.decided):
                    return

    async def quiet(self) -> None:
        """Whatever else the router announces in a quiet spell (to prove it says no more)."""
        await self.until(lambda _: False, timeout_s=QUIET_S)

    def of(self, complaint_id: str) -> list[Event]:
        """Its decisions, each once: a redelivered fact re-announces what it decided the
        first time under the same event id (decision 17), which consumers drop as a repeat."""
        distinct: dict[str, Event] = {}
        for event in self.decided:
            if event.complaint_id == complaint_id:
                distinct.setdefault(event.event_id, event)
        return list(distinct.values())


@asynccontextmanager
async def running_router(
    kafka: KafkaSettings, unique: str, directory: Directory
) -> AsyncIterator[RunningRouter]:
    settings = RouterSettings(kafka=kafka, consumer_group=f"router-{unique}", ops_port=0)
    producer = make_producer(kafka, f"test-{unique}")
    await producer.start()
    health = Health()
    edges = Edges("router", settings, health, OpsServer(health, "127.0.0.1", 0), producer)
    stop = asyncio.Event()
    started = time.time()
    router = asyncio.create_task(serve(edges, stop, directory=directory, sweep_every_s=3600))
    try:
        async with TopicTail(kafka, kafka.topic(COMPLAINT_EVENTS), since=started) as tail:
            publisher = EventPublisher(producer, kafka.topic(COMPLAINT_EVENTS))
            yield RunningRouter(kafka, producer, publisher, tail, [])
    finally:
        stop.set()
        await asyncio.wait_for(router, timeout=30)
        await producer.stop()


def _kinds(events: list[Event]) -> list[str]:
    return [event_type(e) for e in events]


def _count(complaint_id: str, kind: str, n: int) -> Callable[[list[Event]], bool]:
    def done(events: list[Event]) -> bool:
        mine = {
            e.event_id for e in events if e.complaint_id == complaint_id and event_type(e) == kind
        }
        return len(mine) >= n

    return done


async def test_a_warning_then_a_breach_escalate_once_each_to_successive_people_in_the_chain(
    isolated_kafka: KafkaSettings, unique: str
) -> None:
    complaint = f"complaint-{unique}"
    async with running_router(isolated_kafka, unique, Directory.load(SHIPPED_DIRECTORY)) as router:
        await router.publish(_classified(complaint, unique), _warning(complaint))
        await router.until(_count(complaint, "escalated", 1))
        # The sla redelivers both (same ids, as after a crash) and then breaches.
        await router.publish(_warning(complaint), _breach(complaint), _breach(complaint))
        await router.until(_count(complaint, "escalated", 2))
        await router.quiet()

    mine = router.of(complaint)
    assert _kinds(mine) == ["assigned", "escalated", "escalated"]
    first, second = mine[1].escalated, mine[2].escalated
    assert (first.level, first.to_handler_id, first.to_name) == (1, "amara.okafor", "Amara Okafor")
    assert (second.level, second.to_handler_id, second.to_name) == (
        2,
        "grace.mensah",
        "Grace Mensah",
    )
    assert mine[2].causation_id == f"breach-{complaint}"
    assert second.from_handler_id == mine[0].assigned.handler_id


async def test_three_electronic_exchanges_ask_the_owner_for_one_call(
    isolated_kafka: KafkaSettings, unique: str
) -> None:
    complaint = f"complaint-{unique}"
    async with running_router(isolated_kafka, unique, Directory.load(SHIPPED_DIRECTORY)) as router:
        await router.publish(_classified(complaint, unique))
        await router.until(_count(complaint, "assigned", 1))
        # Three emails, the third redelivered, then a fourth: still one request for a call.
        emails = [_email(complaint, n) for n in (1, 2, 3)]
        await router.publish(*emails, emails[2], _email(complaint, 4))
        await router.until(_count(complaint, "call_requested", 1))
        await router.quiet()

    mine = router.of(complaint)
    assert _kinds(mine) == ["assigned", "call_requested"]
    owner = mine[0].assigned
    call = mine[1].call_requested
    assert (call.handler_id, call.handler_name) == (owner.handler_id, owner.handler_name)
    assert mine[1].causation_id == f"email-3-{complaint}"


def _one_person_with_room_for(capacity: int) -> Directory:
    return one_team(person("solo.agent", capacity=capacity))


async def test_queued_complaints_are_assigned_in_order_when_a_resolution_frees_capacity(
    isolated_kafka: KafkaSettings, unique: str
) -> None:
    first, second, third = (f"complaint-{n}-{unique}" for n in (1, 2, 3))
    async with running_router(isolated_kafka, unique, _one_person_with_room_for(1)) as router:
        await router.publish(_classified(first, f"a-{unique}"))
        await router.until(_count(first, "assigned", 1))
        # One at a time: complaints on different partitions reach the decider in any order.
        await router.publish(_classified(second, f"b-{unique}"))
        await router.until(_count(second, "queued", 1))
        await router.publish(_classified(third, f"c-{unique}"))
        await router.until(_count(third, "queued", 1))
        await router.publish(_resolved(first))
        await router.until(_count(second, "assigned", 1))
        await router.publish(_resolved(second))
        await router.until(_count(third, "assigned", 1))
        await router.quiet()

    decided = [e for c in (first, second, third) for e in router.of(c)]
    assert [e.queued.position for e in decided if event_type(e) == "queued"] == [1, 2]
    assigned = sorted(
        (e for e in decided if event_type(e) == "assigned"), key=lambda e: router.decided.index(e)
    )
    assert [e.complaint_id for e in assigned] == [first, second, third]
    assert {e.assigned.handler_id for e in assigned} == {"solo.agent"}
    assert assigned[1].causation_id == f"resolved-{first}"
    assert assigned[2].causation_id == f"resolved-{second}"


async def test_a_capacity_update_from_workforce_management_drains_the_queue(
    isolated_kafka: KafkaSettings, unique: str
) -> None:
    first, second = (f"complaint-{n}-{unique}" for n in (1, 2))
    async with running_router(isolated_kafka, unique, _one_person_with_room_for(1)) as router:
        await router.publish(_classified(first, f"a-{unique}"))
        await router.until(_count(first, "assigned", 1))
        await router.publish(_classified(second, f"b-{unique}"))
        await router.until(_count(second, "queued", 1))
        # Sent only once the second waits, so the update cannot arrive before it queued.
        await router.directory_update("solo.agent", {"presence": "online", "capacity": 2})
        await router.until(_count(second, "assigned", 1))
        await router.quiet()

    assert _kinds(router.of(second)) == ["queued", "assigned"]
    assert router.of(second)[1].assigned.handler_id == "solo.agent"
