"""Two routers sharing the work on a real broker: capacity holds across them, a customer
keeps one owner whichever partition their complaints land on, and when one router stops -
gracefully, or killed mid-stream as a separate process - the other takes over without
assigning anything twice."""

from __future__ import annotations

import asyncio
import signal
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Callable
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
from tools.devstack.processes import ServiceProcess, StackConfig, start_service

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
      - {id: ann, name: Ann Lee, languages: [en], capacity: CAPACITY}
      - {id: bob, name: Bob Ray, languages: [en], capacity: CAPACITY}
"""


def _directory(path: Path, capacity: int) -> Path:
    path.write_text(DIRECTORY.replace("CAPACITY", str(capacity)))
    return path


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


def _on_distinct_partitions(key: str, count: int) -> list[str]:
    found: dict[int, str] = {}
    for candidate in (f"{key}-{n}" for n in range(1000)):
        found.setdefault(_partition(candidate), candidate)
        if len(found) == count:
            return list(found.values())
    raise AssertionError(f"no {count} distinct partitions")


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
    directory = Directory.load(_directory(tmp_path / "directory.yaml", capacity=2))
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


# --- two router processes, one killed --------------------------------------------------


@asynccontextmanager
async def router_processes(
    kafka: KafkaSettings, directory: Path, logs: Path
) -> AsyncIterator[list[ServiceProcess]]:
    """Two ``python -m services.router`` processes in one consumer group (the topic prefix
    names it), each with its own ops port; stopped at the end (SIGTERM) if alive.

    Ready means each has joined both groups; the second to join did so in a generation
    that includes the first, so by then they share the partitions."""
    processes = [
        start_service(
            "router",
            StackConfig.on_free_ports(
                kafka.bootstrap_servers, kafka.topic_prefix, smtp_port=0, router_directory=directory
            ),
            logs / f"router-{n}",
        )
        for n in (1, 2)
    ]
    try:
        for process in processes:
            await asyncio.to_thread(process.wait_ready)
        yield processes
    finally:
        for process in processes:
            await asyncio.to_thread(process.stop)


def _reports_load(process: ServiceProcess) -> bool:
    """Only the router deciding now reports queue depths (decision 17)."""
    url = f"http://127.0.0.1:{process.ops_port}/metrics"
    with urllib.request.urlopen(url, timeout=2) as response:
        return 'kintsugi_router_queue_depth{team="care"}' in response.read().decode()


async def _the_decider(processes: list[ServiceProcess], timeout_s: float = 30) -> ServiceProcess:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        deciding = [p for p in processes if await asyncio.to_thread(_reports_load, p)]
        if len(deciding) == 1:
            return deciding[0]
        await asyncio.sleep(0.5)
    raise TimeoutError("no single router reports deciding")


async def _collect(
    tail: TopicTail,
    about: set[str],
    decided: dict[str, Event],
    until: Callable[[], bool],
    timeout_s: float = 60,
) -> None:
    """Every router event about ``about`` (each event id once: a takeover may re-announce a
    decision under its id) into ``decided``, until ``until()`` or the timeout."""
    if until():
        return
    async for event in tail.events(timeout_s=timeout_s):
        if event.producer == "router" and event.complaint_id in about:
            decided.setdefault(event.event_id, event)
            if until():
                return


async def test_killing_the_deciding_router_process_mid_stream_loses_and_doubles_nothing(
    isolated_kafka: KafkaSettings, unique: str, tmp_path: Path
) -> None:
    directory = _directory(tmp_path / "directory.yaml", capacity=6)
    # Alice writes three times, each complaint on its own partition (so through either
    # router's forwarder); everyone else once. Twelve places for fourteen complaints.
    alice = _on_distinct_partitions(f"{unique}-alice", 3)
    before_kill = [alice[0], alice[1], f"{unique}-b1", f"{unique}-b2"]
    at_kill = [alice[2], f"{unique}-c1", f"{unique}-c2", f"{unique}-c3"]
    after_takeover = [f"{unique}-d{n}" for n in range(1, 7)]
    customers = {c: ("alice" if c in alice else c) for c in before_kill + at_kill + after_takeover}
    producer = make_producer(isolated_kafka, f"test-{unique}")
    await producer.start()
    publisher = EventPublisher(producer, isolated_kafka.topic(COMPLAINT_EVENTS))
    topic = isolated_kafka.topic(COMPLAINT_EVENTS)
    decided: dict[str, Event] = {}

    def all_decided(ids: list[str]) -> Callable[[], bool]:
        return lambda: set(ids) <= {e.complaint_id for e in decided.values()}

    def any_decided(ids: list[str]) -> Callable[[], bool]:
        return lambda: bool(set(ids) & {e.complaint_id for e in decided.values()})

    try:
        async with (
            TopicTail(isolated_kafka, topic, since=time.time()) as tail,
            router_processes(isolated_kafka, directory, tmp_path) as routers,
        ):
            await publisher.publish(*(_classified(c, customers[c]) for c in before_kill))
            await _collect(tail, set(customers), decided, all_decided(before_kill))

            killed = await _the_decider(routers)
            # Mid-stream: killed without a word once it has announced part of a burst.
            await publisher.publish(*(_classified(c, customers[c]) for c in at_kill))
            await _collect(tail, set(customers), decided, any_decided(at_kill))
            killed.process.send_signal(signal.SIGKILL)
            await _collect(tail, set(customers), decided, all_decided(at_kill), 90)

            [survivor] = [r for r in routers if r is not killed]
            assert await _the_decider([survivor], timeout_s=60) is survivor
            await publisher.publish(*(_classified(c, customers[c]) for c in after_takeover))
            await _collect(tail, set(customers), decided, all_decided(after_takeover))
            # A decision taken twice (under a new id) would show up by now.
            await _collect(tail, set(customers), decided, lambda: False, timeout_s=5)
    finally:
        await producer.stop()

    assert killed.process.returncode == -signal.SIGKILL
    decisions = Counter(e.complaint_id for e in decided.values())
    assert decisions == Counter(set(customers)), "each complaint decided exactly once"
    owners = {
        e.complaint_id: e.assigned.handler_id
        for e in decided.values()
        if event_type(e) == "assigned"
    }
    assert Counter(owners.values()) == {"ann": 6, "bob": 6}  # full, and nobody beyond
    assert len({owners[c] for c in alice}) == 1  # one owner for alice, across the kill
    queued = [e for e in decided.values() if event_type(e) == "queued"]
    assert sorted(e.queued.position for e in queued) == [1, 2]
    assert {e.complaint_id for e in queued} <= set(after_takeover)
