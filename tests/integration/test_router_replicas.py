"""Two routers sharing the work on a real broker: capacity holds across them, a customer
keeps one owner whichever partition their complaints land on, and when one router stops
the other takes over without assigning anything twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from aiokafka.partitioner import murmur2
from google.protobuf.message import Message

from kintsugi.common.codec import Event, event_type
from kintsugi.common.kafka import EventPublisher, make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.ops_server import Health, OpsServer
from kintsugi.common.runtime import Edges
from kintsugi.common.topics import COMPLAINT_EVENTS, COMPLAINT_PARTITIONS
from kintsugi.events.v1 import complaint_pb2 as pb
from services.router.config import RouterSettings
from services.router.domain.directory import Directory
from services.router.main import serve
from tests.events import an_event
from tools.devstack.events import TopicTail

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DIRECTORY = """\
default_team: care
executive_sample_percent: 0
teams:
  - id: care
    name: Care
    categories: [fees]
    escalation_chain: [ann]
    members:
      - {id: ann, name: Ann Lee, languages: [en], capacity: 2}
      - {id: bob, name: Bob Ray, languages: [en], capacity: 2}
"""


@asynccontextmanager
async def a_router(
    settings: RouterSettings, directory: Directory, name: str
) -> AsyncIterator[asyncio.Event]:
    producer = make_producer(settings.kafka, name)
    await producer.start()
    health = Health()
    edges = Edges("router", settings, health, OpsServer(health, "127.0.0.1", 0), producer)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(edges, stop, directory=directory, sweep_every_s=3600))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=40)
        await producer.stop()


def _event(complaint_id: str, event_id: str, payload: Message) -> Event:
    return an_event(complaint_id, event_id, payload, AT)


def _classified(complaint_id: str, customer: str) -> Event:
    payload = pb.ComplaintClassified(
        category="fees", severity=pb.SEVERITY_MEDIUM, language="en", customer_id=customer
    )
    return _event(complaint_id, f"classified-{complaint_id}", payload)


def _partition(key: str) -> int:
    return (murmur2(key.encode()) & 0x7FFFFFFF) % COMPLAINT_PARTITIONS  # aiokafka's default


def _on_another_partition(key: str) -> str:
    return next(f"{key}-{n}" for n in range(100) if _partition(f"{key}-{n}") != _partition(key))


async def _router_events(
    tail: TopicTail, ids: set[str], done: int, seen: set[str], timeout_s: float = 40
) -> list[Event]:
    """New router events about ``ids``. A takeover may re-announce a decision with its
    event id (at least once, decision 2); readers drop the copy, and so does this."""
    found = []
    async for event in tail.events(timeout_s=timeout_s):
        if event.producer == "router" and event.complaint_id in ids:
            if event.event_id in seen:
                continue
            seen.add(event.event_id)
            found.append(event)
            if len(found) >= done:
                break
    return found


async def test_two_routers_share_one_view_of_load_and_owners(
    isolated_kafka: KafkaSettings, unique: str, tmp_path: Path
) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text(DIRECTORY)
    directory = Directory.load(path)
    settings = RouterSettings(kafka=isolated_kafka, consumer_group=f"router-{unique}", ops_port=0)
    # Alice's two complaints land on different partitions, so on different forwarders.
    alice = [f"{unique}-0", _on_another_partition(f"{unique}-0")]
    ids = {*alice, *(f"{unique}-{n}" for n in range(2, 6))}
    producer = make_producer(isolated_kafka, f"test-{unique}")
    await producer.start()
    publisher = EventPublisher(producer, isolated_kafka.topic(COMPLAINT_EVENTS))
    started = time.time()
    seen: set[str] = set()
    topic = isolated_kafka.topic(COMPLAINT_EVENTS)
    try:
        async with (
            TopicTail(isolated_kafka, topic, since=started) as tail,
            a_router(settings, directory, "router-one"),
        ):
            async with a_router(settings, directory, "router-two"):
                await asyncio.sleep(8)  # both joined: the forwarders share the partitions
                # Alice's two complaints first, through different routers' forwarders.
                await publisher.publish(*(_classified(c, "alice") for c in alice))
                first = await _router_events(tail, set(alice), done=2, seen=seen)
                others = sorted(ids - set(alice))
                await publisher.publish(*(_classified(c, c) for c in others))
                first += await _router_events(tail, set(others), done=4, seen=seen)
            # Router two has stopped; router one carries on alone.
            resolved = pb.ActivityRecorded(
                kind=pb.ACTIVITY_KIND_STATUS_CHANGE, new_status=pb.STATUS_RESOLVED
            )
            await publisher.publish(_event(alice[0], f"resolved-{unique}", resolved))
            after = await _router_events(tail, ids, done=1, seen=seen)
    finally:
        await producer.stop()

    assigned = {e.complaint_id: e.assigned.handler_id for e in first if event_type(e) == "assigned"}
    # The tail reads partitions in no particular order: the queue's order is its positions.
    queued = [
        e.complaint_id
        for e in sorted(first, key=lambda e: e.queued.position)
        if event_type(e) == "queued"
    ]
    assert len(assigned) == 4 and len(queued) == 2
    assert sorted(e.queued.position for e in first if event_type(e) == "queued") == [1, 2]
    assert sorted(assigned.values()) == ["ann", "ann", "bob", "bob"]  # nobody beyond 2
    assert assigned[alice[0]] == assigned[alice[1]]  # one owner for alice
    # The survivor drains the queue once, in order, into the freed place.
    [drained] = after
    assert event_type(drained) == "assigned"
    assert drained.complaint_id == queued[0]
    assert drained.assigned.handler_id == assigned[alice[0]]
    assert drained.causation_id == f"resolved-{unique}"
