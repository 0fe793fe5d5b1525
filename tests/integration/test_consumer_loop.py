"""The consumer loop on a real broker: handled once, dead-lettered with reasons, committed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import MessageSizeTooLargeError
from prometheus_client import REGISTRY

from kintsugi.common.codec import (
    EVENT_TYPE_HEADER,
    DeadLetter,
    Event,
    decode,
    encode,
    new_event,
)
from kintsugi.common.kafka import (
    ConsumerLoop,
    DeadLetterPublisher,
    EventPublisher,
    PermanentFailure,
    RetryPolicy,
    make_producer,
)
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.topics import COMPLAINT_EVENTS, DEAD_LETTERS
from kintsugi.events.v1 import complaint_pb2 as pb
from tests.events import from_a_newer_producer
from tools.devstack.events import TopicTail

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _event(complaint_id: str, event_id: str, subject: str = "s"):
    return new_event(
        complaint_id=complaint_id,
        producer="test",
        event_id=event_id,
        occurred_at=NOW,
        recorded_at=NOW,
        payload=pb.ComplaintReceived(subject=subject),
    )


async def _dead_letters_for(
    settings: KafkaSettings, group: str, key: bytes, count: int, timeout_s: float = 10
) -> list[DeadLetter]:
    """This group's dead letters for one key: other tests share the session's topics."""
    found: list[DeadLetter] = []
    topic = settings.topic(DEAD_LETTERS)
    async with TopicTail(settings, topic) as tail:
        async for record in tail.records(timeout_s=timeout_s):
            letter = DeadLetter()
            letter.ParseFromString(record.value)
            if letter.consumer_group == group and letter.key == key:
                found.append(letter)
                if len(found) >= count:
                    break
    return found


def _consumer_loop(
    settings: KafkaSettings, producer: AIOKafkaProducer, group: str, handler, **options
) -> ConsumerLoop:
    return ConsumerLoop(
        kafka=settings,
        group_id=group,
        topics=[settings.topic(COMPLAINT_EVENTS)],
        handler=handler,
        decode=decode,
        producer=producer,
        dead_letters=DeadLetterPublisher(
            producer, settings.topic(DEAD_LETTERS), group, lambda: NOW
        ),
        retry=RetryPolicy(attempts=3, first_backoff_s=0.01),
        **options,
    )


async def _run_loop(settings: KafkaSettings, group: str, handler, until) -> None:
    producer = make_producer(settings, "test")
    await producer.start()
    loop = _consumer_loop(settings, producer, group, handler)
    stop = asyncio.Event()
    await loop.start()
    runner = asyncio.create_task(loop.run(stop))
    try:
        for _ in range(300):
            if until():
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await runner
        await loop.stop()
        await producer.stop()


async def test_bad_and_failing_messages_are_dead_lettered_with_reasons_and_good_ones_handled(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = kafka_settings.topic(COMPLAINT_EVENTS)
    producer = make_producer(kafka_settings, "test")
    await producer.start()
    publisher = EventPublisher(producer, topic)
    complaint = f"c-{unique}"
    await producer.send_and_wait(topic, b"\xff\x00not-protobuf", key=complaint.encode())
    await publisher.publish(_event(complaint, f"ok-{unique}"))
    await publisher.publish(_event(complaint, f"flaky-{unique}", subject="flaky"))
    await publisher.publish(_event(complaint, f"rule-{unique}", subject="breaks a rule"))
    await publisher.publish(_event(complaint, f"boom-{unique}", subject="always fails"))
    await producer.stop()

    handled: list[str] = []
    flaky_attempts = 0
    failing_attempts = 0

    async def handler(event: Event) -> None:
        nonlocal flaky_attempts, failing_attempts
        if event.complaint_id != complaint:
            return
        subject = event.received.subject
        failing_attempts += subject == "always fails"
        if subject == "flaky":
            flaky_attempts += 1
            if flaky_attempts < 2:
                raise ConnectionError("transient")
        if subject == "breaks a rule":
            raise PermanentFailure("received.subject: must not break rules")
        if subject == "always fails":
            raise RuntimeError("downstream is down")
        handled.append(event.event_id)

    group = f"{kafka_settings.topic_prefix}loop-{unique}"
    letters: list[DeadLetter] = []

    def done() -> bool:  # the last record has had all its attempts
        return len(handled) >= 2 and failing_attempts >= 3

    await _run_loop(kafka_settings, group, handler, done)
    letters = await _dead_letters_for(kafka_settings, group, complaint.encode(), 3)

    assert handled == [f"ok-{unique}", f"flaky-{unique}"]
    assert flaky_attempts == 2
    reasons = sorted(letter.reason for letter in letters)
    assert len(reasons) == 3, reasons
    assert any("not a kintsugi.events.v1.Event protobuf" in r for r in reasons)
    assert any(r == "received.subject: must not break rules" for r in reasons)
    assert any("gave up after 3 attempts" in r and "downstream is down" in r for r in reasons)
    assert {letter.source_topic for letter in letters} == {topic}
    assert all(letter.key == complaint.encode() for letter in letters)

    # Offsets were committed: the same group resumes after everything it handled, so
    # the first thing it sees is a sentinel published now.
    producer = make_producer(kafka_settings, "test")
    await producer.start()
    await EventPublisher(producer, topic).publish(_event(complaint, f"sentinel-{unique}"))
    await producer.stop()
    seen_again: list[str] = []

    async def recorder(event: Event) -> None:
        if event.complaint_id == complaint:
            seen_again.append(event.event_id)

    await _run_loop(kafka_settings, group, recorder, lambda: bool(seen_again))
    assert seen_again == [f"sentinel-{unique}"]


async def test_a_consumer_whose_partition_state_cannot_be_restored_stops_instead_of_consuming(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    producer = make_producer(kafka_settings, "test")
    await producer.start()
    handled: list[str] = []

    async def handler(event: Event) -> None:
        handled.append(event.event_id)

    async def broken_restore(_: object) -> None:
        raise OSError("changelog unreachable")

    group = f"{kafka_settings.topic_prefix}broken-{unique}"
    loop = _consumer_loop(kafka_settings, producer, group, handler, on_assigned=broken_restore)
    await EventPublisher(producer, kafka_settings.topic(COMPLAINT_EVENTS)).publish(
        _event(f"c-{unique}", f"e-{unique}")
    )
    await loop.start()
    try:
        with pytest.raises(RuntimeError, match="could not be restored"):
            async with asyncio.timeout(30):
                await loop.run(asyncio.Event())
    finally:
        await loop.stop()
        await producer.stop()
    assert handled == []
    assert not loop.joined


async def _committed(settings: KafkaSettings, group: str, topic: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(**settings.client_options())
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


async def test_a_batch_is_handled_across_complaints_at_once_and_in_order_within_each(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = kafka_settings.topic(COMPLAINT_EVENTS)
    producer = make_producer(kafka_settings, "test")
    await producer.start()
    complaints = [f"c-{unique}-{n}" for n in range(5)]
    publisher = EventPublisher(producer, topic)
    for step in range(10):  # interleaved on the topic: c0 e0, c1 e0, ..., c0 e1, ...
        await publisher.publish(*(_event(c, f"{c}-e{step}") for c in complaints))
    await producer.stop()

    handled: dict[str, list[str]] = {c: [] for c in complaints}
    in_flight = 0
    most_in_flight = 0
    derived = f"derived-{unique}"

    async def handler(event: Event) -> None:
        nonlocal in_flight, most_in_flight
        if event.complaint_id not in handled or event.received.subject == derived:
            return
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await asyncio.sleep(0.01)  # an SMTP round trip, say
        in_flight -= 1
        handled[event.complaint_id].append(event.event_id)
        await derived_publisher.publish(
            _event(event.complaint_id, f"{event.event_id}-{derived}", subject=derived)
        )

    group = f"{kafka_settings.topic_prefix}batch-{unique}"
    derived_producer = make_producer(kafka_settings, "test-derived")
    await derived_producer.start()
    derived_publisher = EventPublisher(derived_producer, topic)
    try:
        await _run_loop(
            kafka_settings, group, handler, lambda: all(len(h) == 10 for h in handled.values())
        )
    finally:
        await derived_producer.stop()

    for complaint, events in handled.items():
        assert events == [f"{complaint}-e{step}" for step in range(10)]
    assert most_in_flight > 1  # complaints of one batch were handled side by side
    async with TopicTail(kafka_settings, topic) as tail:
        published = await tail.collect(
            lambda seen: sum(e.received.subject == derived for e in seen) >= 50, timeout_s=60
        )
    assert sum(e.received.subject == derived for e in published) == 50


async def test_unwanted_event_types_are_skipped_without_being_decoded(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = kafka_settings.topic(COMPLAINT_EVENTS)
    producer = make_producer(kafka_settings, "test")
    await producer.start()
    complaint = f"c-{unique}"
    # Not decodable, but announced as a type nobody here wants: skipped, not dead-lettered.
    await producer.send_and_wait(
        topic,
        b"\xff\x00not-protobuf",
        key=complaint.encode(),
        headers=[(EVENT_TYPE_HEADER, b"clock_warning")],
    )
    await EventPublisher(producer, topic).publish(_event(complaint, f"wanted-{unique}"))
    dead_letter_producer = producer
    handled: list[str] = []

    async def handler(event: Event) -> None:
        if event.complaint_id == complaint:
            handled.append(event.event_id)

    group = f"{kafka_settings.topic_prefix}skip-{unique}"
    loop = _consumer_loop(
        kafka_settings, dead_letter_producer, group, handler, event_types={"received"}
    )
    stop = asyncio.Event()
    await loop.start()
    runner = asyncio.create_task(loop.run(stop))
    try:
        for _ in range(300):
            if handled:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await runner
        await loop.stop()
        await producer.stop()

    assert handled == [f"wanted-{unique}"]
    assert await _dead_letters_for(kafka_settings, group, complaint.encode(), 1, 3) == []


async def test_a_batch_whose_output_cannot_be_made_durable_is_not_committed(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = kafka_settings.topic(COMPLAINT_EVENTS)
    producer = make_producer(kafka_settings, "test")
    await producer.start()
    complaint = f"c-{unique}"
    key, value, headers = encode(_event(complaint, f"first-{unique}"))
    first = await producer.send_and_wait(topic, value, key=key, headers=headers)
    await producer.stop()

    group = f"{kafka_settings.topic_prefix}undurable-{unique}"
    producer = make_producer(kafka_settings, "test")
    await producer.start()
    publisher = EventPublisher(producer, topic)

    async def handler(event: Event) -> None:
        if event.complaint_id == complaint:
            # More than the broker takes in one record: refused when the batch is flushed.
            await publisher.publish(_event(complaint, f"derived-{unique}", subject="x" * 2**21))

    loop = _consumer_loop(kafka_settings, producer, group, handler)
    await loop.start()
    try:
        with pytest.raises(MessageSizeTooLargeError):
            async with asyncio.timeout(30):
                await loop.run(asyncio.Event())
    finally:
        await loop.stop()
        await producer.stop()

    committed = await _committed(kafka_settings, group, topic)
    assert committed.get(first.partition, -1) <= first.offset
    handled_again: list[str] = []

    async def recorder(event: Event) -> None:
        if event.complaint_id == complaint:
            handled_again.append(event.event_id)

    await _run_loop(kafka_settings, group, recorder, lambda: bool(handled_again))
    assert handled_again == [f"first-{unique}"]


async def test_a_newer_producers_events_are_skipped_or_handled_never_dead_lettered(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = kafka_settings.topic(COMPLAINT_EVENTS)
    complaint = f"c-{unique}"
    known = _event(complaint, f"known-{unique}")
    producer = make_producer(kafka_settings, "test")
    await producer.start()
    newer_kind = from_a_newer_producer(known, new_kind=True)
    await producer.send_and_wait(topic, newer_kind, key=complaint.encode())  # no type header
    key, _, headers = encode(known)
    await producer.send_and_wait(topic, from_a_newer_producer(known), key=key, headers=headers)
    await producer.stop()
    group = f"{kafka_settings.topic_prefix}newer-{unique}"
    skipped = (
        REGISTRY.get_sample_value(
            "kintsugi_events_consumed_total",
            {"topic": topic, "event_type": "unknown", "outcome": "skipped"},
        )
        or 0.0
    )
    handled: list[str] = []

    async def handler(event: Event) -> None:
        if event.complaint_id == complaint:
            handled.append(event.event_id)

    await _run_loop(kafka_settings, group, handler, lambda: bool(handled))

    assert handled == [known.event_id]
    assert await _dead_letters_for(kafka_settings, group, complaint.encode(), 1, 3) == []
    assert (
        REGISTRY.get_sample_value(
            "kintsugi_events_consumed_total",
            {"topic": topic, "event_type": "unknown", "outcome": "skipped"},
        )
        == skipped + 1
    )
