"""Fuzzing the event decoder and every consumer of complaint events (router, sla,
notifier) at the entry point that takes raw Kafka records: whatever a producer puts on
the topic, each record is handled, skipped, or dead-lettered at once with its reason, and
the consumer keeps going."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kintsugi.common.codec import Event, UndecodableMessage, UnknownEventKind, decode, event_type
from kintsugi.common.ids import Cause
from kintsugi.common.kafka import DeadLetterPublisher, EventPublisher, RetryPolicy
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.state_store import CompactedStore
from services.notifier.adapters.kafka import (
    NotifierEventHandler,
    PublishedNotifications,
    StoredCases,
)
from services.notifier.domain.messages import MessageComposer
from services.notifier.service import Notifier
from services.router.adapters.directory_updates import BadUpdate, parse_update
from services.router.adapters.kafka import PublishedDecisions, RouterEventHandler
from services.router.domain.directory import Directory
from services.router.service import Router
from services.sla.adapters.keeper import ClockKeeper
from services.sla.domain import PolicySet
from services.sla.service import SlaService
from tests.fuzz.consumers import (
    DEAD_LETTERS,
    NOW,
    TOPIC,
    Record,
    RecordingProducer,
    as_record,
    assert_each_handled_skipped_or_dead_lettered_with_a_reason,
    consume,
)
from tests.fuzz.messages import message_of, mutated
from tests.fuzz.profile import scaled, tally
from tests.unit.notifier.fakes import FakeSender
from tests.unit.router.fakes import SHIPPED_DIRECTORY, InMemoryCases

DIRECTORY = Directory.load(SHIPPED_DIRECTORY)
POLICIES = PolicySet.default()
# A few complaints and event ids, so that random events meet each other's state.
COMPLAINTS = ["c-1", "c-2", "c-3"]


@st.composite
def events(draw: st.DrawFn) -> Event:
    event = draw(message_of(Event.DESCRIPTOR))
    assert isinstance(event, Event)
    if draw(st.integers(0, 9)):  # mostly with the ids every producer sets
        event.complaint_id = draw(st.sampled_from(COMPLAINTS))
        event.event_id = draw(st.sampled_from(["e-1", "e-2", "e-3", "e-4"]))
    return event


@st.composite
def records(draw: st.DrawFn) -> list[Record]:
    """A few records as a broken, newer or merely surprising producer sends them."""
    batch = []
    for offset in range(draw(st.integers(1, 6))):
        event = draw(events())
        record = as_record(offset, event, with_type_header=draw(st.booleans()))
        if draw(st.integers(0, 3)) == 0:
            record.value = draw(mutated(record.value or b""))
        batch.append(record)
    return batch


@scaled(2)
@given(st.one_of(st.binary(max_size=512), events().map(Event.SerializeToString)))
def test_decoding_any_bytes_gives_an_event_or_says_why_not(value: bytes) -> None:
    tally.case()
    try:
        event = decode(value)
    except (UndecodableMessage, UnknownEventKind) as refused:
        assert str(refused)
    else:
        assert event.event_id and event.complaint_id and event_type(event) != "unknown"


@scaled(2)
@given(events().flatmap(lambda e: mutated(e.SerializeToString())))
def test_decoding_a_damaged_or_newer_event_gives_an_event_or_says_why_not(value: bytes) -> None:
    tally.case()
    try:
        decode(value)
    except (UndecodableMessage, UnknownEventKind) as refused:
        assert str(refused)


def a_router(producer: RecordingProducer) -> Router:
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    return Router(DIRECTORY, InMemoryCases(), PublishedDecisions(publisher, lambda: NOW))


def router_handler(producer: RecordingProducer) -> RouterEventHandler:
    store = CompactedStore(producer, KafkaSettings(), "router-state")  # type: ignore[arg-type]
    return RouterEventHandler(a_router(producer), store, lambda: NOW, state_partitions=6)


@scaled(1)
@given(records())
async def test_the_router_handles_skips_or_dead_letters_every_record(batch: list[Record]) -> None:
    tally.case()
    producer = RecordingProducer()
    handler = router_handler(producer)

    outcomes = await consume(batch, decode, handler, producer, handler.event_types)

    assert_each_handled_skipped_or_dead_lettered_with_a_reason(outcomes, producer)


def notifier_handler(producer: RecordingProducer) -> NotifierEventHandler:
    store = CompactedStore(producer, KafkaSettings(), "notifier-state")  # type: ignore[arg-type]
    publisher = EventPublisher(producer, TOPIC)  # type: ignore[arg-type]
    notifier = Notifier(
        StoredCases(store),
        {"email": FakeSender("email"), "sms": FakeSender("sms")},
        PublishedNotifications(publisher, lambda: NOW),
        MessageComposer("Kintsugi Financial"),
        lambda: NOW,
    )
    return NotifierEventHandler(notifier, store)


@scaled(1)
@given(records())
async def test_the_notifier_handles_skips_or_dead_letters_every_record(
    batch: list[Record],
) -> None:
    tally.case()
    producer = RecordingProducer()
    handler = notifier_handler(producer)

    outcomes = await consume(batch, decode, handler, producer, handler.event_types)

    assert_each_handled_skipped_or_dead_lettered_with_a_reason(outcomes, producer)


async def clock_keeper(producer: RecordingProducer) -> ClockKeeper:
    keeper = ClockKeeper(
        SlaService(POLICIES),
        {},  # type: ignore[arg-type]
        lambda: producer,  # type: ignore[arg-type,return-value]
        TOPIC,
        lambda: DeadLetterPublisher(producer, DEAD_LETTERS, "sla", lambda: NOW),  # type: ignore[arg-type]
        lambda: NOW,
        partitions=6,
        retry=RetryPolicy(attempts=1),
    )
    await keeper.assign(range(6))
    return keeper


@scaled(1)
@given(records())
async def test_the_sla_handles_skips_or_dead_letters_every_record_and_ticks_on(
    batch: list[Record],
) -> None:
    tally.case()
    producer = RecordingProducer()
    keeper = await clock_keeper(producer)

    await keeper.handle_batch(batch)
    await keeper.tick()  # what was stored from fuzzed events can still be ticked

    letters = producer.dead_letters()
    assert all(kind == "permanent" and letter.reason for kind, letter in letters), letters


HANDLER_IDS = [handler.id for handler in DIRECTORY.handlers()]


def _update_json(values: dict[str, Any]) -> bytes:
    return json.dumps(values).encode()


directory_values = st.one_of(
    st.none(),  # a tombstone: a person removed
    st.binary(max_size=64),
    st.fixed_dictionaries(
        {"presence": st.sampled_from(["online", "away", "offline", "gone", ""])},
        optional={
            "since": st.one_of(
                st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
                st.datetimes().map(datetime.isoformat),
                st.text(max_size=12),
            ),
            "capacity": st.one_of(st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=3)),
            "extra": st.text(max_size=5),
        },
    ).map(_update_json),
)


@scaled(1.5)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from(HANDLER_IDS), st.text(max_size=8)).map(str.encode),
            directory_values,
        ),
        min_size=1,
        max_size=4,
    )
)
async def test_directory_updates_move_the_router_or_are_refused_with_a_reason(
    updates: list[tuple[bytes, bytes | None]],
) -> None:
    """Workforce management's JSON, as the router's follower applies it: an update that
    fails any other way would stop the follower, and its restart would read it again."""
    tally.case()
    router = a_router(RecordingProducer())
    for offset, (key, value) in enumerate(updates):
        try:
            update = parse_update(key, value, offset)
        except BadUpdate as refused:
            assert str(refused)
            continue
        if update is not None:
            cause = Cause(update.update_id, update.update_id)
            await router.presence_changed(
                update.handler_id, update.presence, update.capacity, cause, NOW, update.since
            )
