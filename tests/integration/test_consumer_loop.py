"""The consumer loop on a real broker: handled once, dead-lettered with reasons, committed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from kintsugi.common.codec import DeadLetter, Event, decode, new_event
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
    settings: KafkaSettings, group: str, key: bytes, count: int
) -> list[DeadLetter]:
    """This group's dead letters for one key: other tests share the session's topics."""
    found: list[DeadLetter] = []
    topic = settings.topic(DEAD_LETTERS)
    async with TopicTail(settings, topic) as tail:
        async for record in tail.records(timeout_s=10):
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

    async def handler(event: Event) -> None:
        nonlocal flaky_attempts
        if event.complaint_id != complaint:
            return
        subject = event.received.subject
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

    def done() -> bool:
        return len(handled) >= 2

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
