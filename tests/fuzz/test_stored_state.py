"""Fuzzing the per-complaint state services keep (the sla's clock table, the notifier's
cases): one complaint's stored value replaced by random bytes or a damaged real state
harms that complaint alone. Rebuilds and scans skip it, its own events are dead-lettered
at once naming its state, and every other complaint carries on."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from google.protobuf.message import Message
from hypothesis import given
from hypothesis import strategies as st

from kintsugi.common.codec import Event, decode, event_type
from kintsugi.common.kafka import DeadLetterPublisher, EventPublisher, RetryPolicy
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.state_store import CompactedStore
from kintsugi.common.stored_state import UnreadableState
from kintsugi.common.timeutil import to_timestamp
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.events.v1 import notification_pb2 as npb
from services.notifier.adapters.kafka import (
    NotifierEventHandler,
    PublishedNotifications,
    StoredCases,
)
from services.notifier.domain.messages import MessageComposer
from services.notifier.domain.retry import transient
from services.notifier.service import Notifier
from services.sla.adapters.keeper import ClockKeeper
from services.sla.domain import PolicySet
from services.sla.service import SlaService
from tests.events import an_event
from tests.fuzz.consumers import (
    DEAD_LETTERS,
    NOW,
    TOPIC,
    Record,
    RecordingProducer,
    as_record,
    consume,
)
from tests.fuzz.messages import mutated
from tests.fuzz.profile import scaled, tally
from tests.unit.notifier.fakes import FakeSender

POLICIES = PolicySet.default()
PARTITIONS = 6
DAMAGED = "c-damaged"
OTHERS = ["c-other-1", "c-other-2"]


def event(complaint_id: str, event_id: str, payload: Message, at: datetime = NOW) -> Event:
    return an_event(complaint_id, f"{complaint_id}-{event_id}", payload, at)


def records(*events: Event) -> list[Record]:
    return [as_record(offset, e) for offset, e in enumerate(events)]


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _leaves(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _leaves(item, (*path, index))]
    return [path]


any_json_value = st.one_of(
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.text(max_size=12),
    st.sampled_from(["", "2026-13-01T00:00:00+00:00", "2026-03-02T09:00:00", "sent", "?"]),
    st.none(),
    st.booleans(),
    st.floats(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
)


@st.composite
def one_value_changed(draw: st.DrawFn, state: bytes) -> bytes:
    """``state`` (JSON) with one value replaced by any JSON value: what a newer version's
    format, or a damaged field that still parses, looks like."""
    body = json.loads(state)
    leaves = _leaves(body)
    if not leaves or leaves == [()]:
        return state
    *parents, last = draw(st.sampled_from(leaves))
    holder = body
    for step in parents:
        holder = holder[step]
    holder[last] = draw(any_json_value)
    return json.dumps(body).encode()


def broken(state: bytes) -> st.SearchStrategy[bytes]:
    """Random bytes, ``state`` damaged as a wire damages it, or with one field changed."""
    return st.one_of(mutated(state), one_value_changed(state))


def assert_only_the_damaged_complaint_was_dead_lettered(producer: RecordingProducer) -> None:
    """At most one dead letter, for the damaged complaint: permanent, naming its state."""
    letters = producer.dead_letters()
    assert len(letters) <= 1, letters
    for kind, letter in letters:
        assert kind == "permanent", letter.reason
        assert decode(letter.value).complaint_id == DAMAGED
        assert DAMAGED in letter.reason and "state" in letter.reason, letter.reason
        assert "unreadable" in letter.reason, letter.reason


# --- sla ------------------------------------------------------------------------------


def classified(complaint_id: str) -> Event:
    return event(
        complaint_id,
        "classified",
        pb.ComplaintClassified(
            category="service",
            severity=pb.SEVERITY_MEDIUM,
            regime="none",
            jurisdiction="GB-ENG",
            channel=pb.CHANNEL_EMAIL,
            received_at=to_timestamp(NOW),
        ),
    )


def progress_update(complaint_id: str) -> Event:
    return event(
        complaint_id,
        "update",
        npb.NotificationSent(purpose=npb.NOTIFICATION_PURPOSE_PROGRESS_UPDATE),
        NOW + timedelta(hours=2),
    )


def clock_keeper(table: dict[bytes, bytes], producer: RecordingProducer) -> ClockKeeper:
    return ClockKeeper(
        SlaService(POLICIES),
        table,
        lambda: producer,  # type: ignore[arg-type,return-value]
        TOPIC,
        lambda: DeadLetterPublisher(producer, DEAD_LETTERS, "sla", lambda: NOW),  # type: ignore[arg-type]
        lambda: NOW,
        partitions=PARTITIONS,
        retry=RetryPolicy(attempts=1),
    )


async def real_clock_table() -> dict[bytes, bytes]:
    """The table after each complaint's clocks were started by a valid event."""
    table: dict[bytes, bytes] = {}
    keeper = clock_keeper(table, RecordingProducer())
    await keeper.assign(range(PARTITIONS))
    await keeper.handle_batch(records(*(classified(c) for c in [DAMAGED, *OTHERS])))
    assert set(table) == {c.encode() for c in [DAMAGED, *OTHERS]}
    return table


@st.composite
def damaged(draw: st.DrawFn, value: bytes) -> bytes:
    """``value`` (a summary line, then the state) damaged whole, or only its state."""
    if draw(st.booleans()):
        return draw(mutated(value))
    summary, end, state = value.partition(b"\n")
    return summary + end + draw(broken(state))


def published(producer: RecordingProducer, kind: str) -> set[str]:
    events = [decode(s.value) for s in producer.sent if s.topic == TOPIC]
    return {e.complaint_id for e in events if event_type(e) == kind}


@scaled(1)
@given(st.data())
async def test_one_unreadable_clock_state_stops_only_its_own_complaint(data: st.DataObject) -> None:
    tally.case()
    table = await real_clock_table()
    table[DAMAGED.encode()] = data.draw(damaged(table[DAMAGED.encode()]), label="stored")
    producer = RecordingProducer()
    keeper = clock_keeper(table, producer)  # a restart over the damaged table

    await keeper.assign(range(PARTITIONS))  # completes, and indexes the others
    assert keeper.open_clocks >= len(OTHERS)
    for other in OTHERS:
        assert keeper.explain(other, NOW)
    try:
        keeper.explain(DAMAGED, NOW)
    except UnreadableState as unreadable:
        assert DAMAGED in str(unreadable)

    await keeper.handle_batch(records(progress_update(DAMAGED), progress_update(OTHERS[0])))
    assert_only_the_damaged_complaint_was_dead_lettered(producer)
    assert OTHERS[0] in published(producer, "clock_reset")

    keeper._clock = lambda: NOW + timedelta(days=400)  # every clock of every complaint ends
    await keeper.tick()
    assert set(OTHERS) <= published(producer, "clock_breached")
    assert_only_the_damaged_complaint_was_dead_lettered(producer)


# --- notifier -------------------------------------------------------------------------


def received(complaint_id: str) -> Event:
    return event(
        complaint_id,
        "received",
        pb.ComplaintReceived(
            customer=pb.Customer(display_name="Jane Doe", email=f"{complaint_id}@example.com"),
            channel=pb.CHANNEL_EMAIL,
            subject="Card declined",
        ),
    )


def assigned(complaint_id: str) -> Event:
    return event(
        complaint_id,
        "assigned",
        pb.ComplaintAssigned(handler_id="h-1", handler_name="Mei Chen", team_name="Cards"),
    )


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def notifier_over(store: CompactedStore, sender: FakeSender, clock: Clock) -> Notifier:
    publisher = EventPublisher(store._producer, TOPIC)
    return Notifier(
        StoredCases(store),
        {"email": sender},
        PublishedNotifications(publisher, clock),
        MessageComposer("Kintsugi Financial"),
        clock,
    )


@scaled(1)
@given(st.data())
async def test_one_unreadable_case_stops_only_its_own_complaints_notifications(
    data: st.DataObject,
) -> None:
    tally.case()
    producer = RecordingProducer()
    store = CompactedStore(producer, KafkaSettings(), "notifier-state")  # type: ignore[arg-type]
    clock = Clock()
    sender = FakeSender("email")
    sender.always = transient("connection refused")  # every acknowledgement is left pending
    handler = NotifierEventHandler(notifier_over(store, sender, clock), store)
    everyone = [DAMAGED, *OTHERS]
    valid = [received(c) for c in everyone] + [assigned(c) for c in everyone]
    assert await consume(records(*valid), decode, handler, producer) == ["handled"] * len(valid)
    real = store.get(DAMAGED)
    assert real is not None
    await store.put(DAMAGED, data.draw(broken(real), label="stored"))

    sender.always = None
    restarted = notifier_over(store, sender, clock)
    restarted.reindex()  # after partitions are restored: completes, finds the others
    assert set(OTHERS) <= set(restarted.pending)
    clock.now += timedelta(hours=1)
    await restarted.retry_due()
    assert set(OTHERS) <= {sent.complaint_id for sent in sender.sent}

    producer.sent.clear()
    handler = NotifierEventHandler(restarted, store)
    reassigned = [
        event(c, "reassigned", pb.ComplaintAssigned(handler_id="h-2", handler_name="Ann Lee"))
        for c in (DAMAGED, OTHERS[0])
    ]
    outcomes = await consume(records(*reassigned), decode, handler, producer)
    assert outcomes[1] == "handled"
    assert_only_the_damaged_complaint_was_dead_lettered(producer)
