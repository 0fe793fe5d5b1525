"""Schema evolution: events from a producer built on a later schema. Fields this build does
not know are carried and ignored; an event of a kind it does not know is skipped (and
counted), never dead-lettered as poison - by every consumer, whether or not the producer
set the event-type header."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from kintsugi.common.codec import EVENT_TYPE_HEADER, Event, decode, event_type
from kintsugi.common.timeutil import to_timestamp
from kintsugi.events.v1 import complaint_pb2 as pb
from tests.events import an_event, from_a_newer_producer
from tests.fuzz.consumers import TOPIC, Record, RecordingProducer, consume
from tests.fuzz.test_event_consumers import clock_keeper, notifier_handler, router_handler

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def classified(complaint_id: str) -> Event:
    return an_event(
        complaint_id,
        f"{complaint_id}-classified",
        pb.ComplaintClassified(
            category="fees",
            severity=pb.SEVERITY_MEDIUM,
            regime="uk-fca-disp",
            jurisdiction="GB-ENG",
            channel=pb.CHANNEL_EMAIL,
            language="en",
            customer_id="u-1",
            received_at=to_timestamp(AT),
        ),
        AT,
    )


def records(complaint_id: str) -> list[Record]:
    """A newer kind with and without its type header, then a known kind with new fields."""
    known = classified(complaint_id)
    newer_kind = from_a_newer_producer(known, new_kind=True)
    key = complaint_id.encode()
    return [
        Record(TOPIC, 0, 0, key, newer_kind, [(EVENT_TYPE_HEADER, b"complaint_merged")]),
        Record(TOPIC, 0, 1, key, newer_kind, []),
        Record(
            TOPIC, 0, 2, key, from_a_newer_producer(known), [(EVENT_TYPE_HEADER, b"classified")]
        ),
    ]


def test_the_decoder_reads_the_known_fields_and_carries_the_new_ones_on() -> None:
    # Carried on: the router forwards events to its inbox as they are.
    known = classified("c-1")

    decoded = decode(from_a_newer_producer(known))

    assert event_type(decoded) == "classified"
    assert decoded.classified.category == "fees" and decoded.event_id == known.event_id
    assert b"newer detail" in decoded.SerializeToString()
    assert b"tenant-7" in decoded.SerializeToString()


@pytest.mark.parametrize("service", ["router", "notifier"])
async def test_router_and_notifier_skip_a_new_kind_and_handle_a_known_one_with_new_fields(
    service: str,
) -> None:
    producer = RecordingProducer()
    handler = router_handler(producer) if service == "router" else notifier_handler(producer)

    outcomes = await consume(records("c-1"), decode, handler, producer, handler.event_types)

    assert outcomes == ["skipped", "skipped", "handled"]
    assert producer.dead_letters() == []
    if service == "router":  # the classified event with newer fields was routed
        assert [event_type(Event.FromString(s.value)) for s in producer.sent] == ["assigned"]


async def test_the_sla_skips_a_new_kind_counted_and_starts_clocks_on_a_known_one() -> None:
    producer = RecordingProducer()
    keeper = await clock_keeper(producer)

    def skipped(kind: str) -> float:
        labels = {"topic": TOPIC, "event_type": kind, "outcome": "skipped"}
        return REGISTRY.get_sample_value("kintsugi_events_consumed_total", labels) or 0.0

    before = skipped("complaint_merged"), skipped("unknown")
    await keeper.handle_batch(records("c-2"))

    assert (skipped("complaint_merged"), skipped("unknown")) == (before[0] + 1, before[1] + 1)
    assert producer.dead_letters() == []
    started = [Event.FromString(s.value) for s in producer.sent]
    assert [event_type(e) for e in started] == ["clocks_started"]
