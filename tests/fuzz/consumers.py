"""Raw Kafka records through a consumer's own decode and handler, as ``ConsumerLoop`` runs
them (type-header skip, decode, handle or dead-letter, inside a batch), over in-memory
ports: what a fuzzed record did, and what the service published in answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka.structs import RecordMetadata

from kintsugi.common.batch import Batch, run_in_batch
from kintsugi.common.codec import EVENT_TYPE_HEADER, DeadLetter, Event, encode, header_value
from kintsugi.common.kafka import (
    DEAD_LETTER_KIND_HEADER,
    DeadLetterPublisher,
    RetryPolicy,
    handle_or_dead_letter,
)

TOPIC = "complaint-events"
DEAD_LETTERS = "dead-letters"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# A hang guard, far above any handler's real time: a case taking this long is a bug.
HANG_AFTER_S = 30


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class Sent:
    topic: str
    key: bytes | None
    value: bytes
    headers: Any


class RecordingProducer:
    """A producer whose sends succeed at once and are kept, in order."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    async def send(
        self, topic: str, value: bytes, key: bytes | None = None, headers: Any = None
    ) -> asyncio.Future[RecordMetadata]:
        self.sent.append(Sent(topic, key, value, headers))
        done: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        done.set_result(RecordMetadata(topic, 0, None, len(self.sent) - 1, -1, -1, None))  # type: ignore[arg-type]
        return done

    async def send_and_wait(
        self, topic: str, value: bytes, key: bytes | None = None, headers: Any = None
    ) -> RecordMetadata:
        return await (await self.send(topic, value, key, headers))

    def dead_letters(self) -> list[tuple[str, DeadLetter]]:
        """(kind, letter) of every dead letter sent."""
        return [
            (header_value(s.headers, DEAD_LETTER_KIND_HEADER) or "", DeadLetter.FromString(s.value))
            for s in self.sent
            if s.topic == DEAD_LETTERS
        ]


def as_record(offset: int, event: Event, *, with_type_header: bool = True) -> Record:
    key, value, headers = encode(event)
    return Record(TOPIC, 0, offset, key, value, headers if with_type_header else [])


async def consume(
    records: Iterable[Record],
    decode: Callable[[bytes | None], Any],
    handler: Callable[[Any], Awaitable[None]],
    producer: RecordingProducer,
    wanted: frozenset[str] | None = None,
) -> list[str]:
    """Each record's outcome: "handled", "skipped" or "dead_lettered" (one attempt, so a
    failure that is not declared permanent shows as an "exhausted" dead letter)."""
    dead_letters = DeadLetterPublisher(producer, DEAD_LETTERS, "fuzz", lambda: NOW)  # type: ignore[arg-type]
    outcomes: list[str] = []

    async def one(record: Record) -> None:
        kind = header_value(record.headers, EVENT_TYPE_HEADER)
        if wanted is not None and kind is not None and kind not in wanted:
            outcomes.append("skipped")
            return

        async def attempt() -> None:
            await handler(decode(record.value))

        outcome = await handle_or_dead_letter(record, attempt, dead_letters, RetryPolicy(1))
        outcomes.append(outcome)

    async def all_records() -> None:
        for record in records:
            await one(record)

    batch = Batch()
    async with asyncio.timeout(HANG_AFTER_S):
        await run_in_batch(batch, all_records)
        await batch.flush(producer)  # type: ignore[arg-type]
    return outcomes


def assert_each_handled_skipped_or_dead_lettered_with_a_reason(
    outcomes: list[str], producer: RecordingProducer, *, retried_on: tuple[str, ...] = ()
) -> None:
    """No record failed in a way the service did not expect: every dead letter is
    permanent and says why (or is one of the ``retried_on`` failures, retried by design)."""
    letters = producer.dead_letters()
    assert outcomes.count("dead_lettered") == len(letters)
    for kind, letter in letters:
        assert letter.reason.strip(), "a dead letter without its reason"
        if kind != "permanent":
            assert any(why in letter.reason for why in retried_on), letter.reason
