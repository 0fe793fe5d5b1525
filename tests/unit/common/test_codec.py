"""The wire format of complaint events, and the reasons a message is dead-lettered."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from kintsugi.common.codec import (
    CONTENT_TYPE_HEADER,
    EVENT_CONTENT_TYPE,
    EVENT_TYPE_HEADER,
    Event,
    UndecodableMessage,
    UnknownEventKind,
    decode,
    encode,
    event_type,
    new_event,
)
from kintsugi.events.v1 import clock_pb2 as cpb
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.events.v1 import envelope_pb2
from kintsugi.events.v1 import notification_pb2 as npb

OCCURRED = datetime(2025, 3, 14, 16, 55, tzinfo=UTC)
RECORDED = datetime(2025, 3, 14, 16, 58, tzinfo=UTC)
PAYLOAD_FIELDS = Event.DESCRIPTOR.oneofs_by_name["payload"].fields


def an_event(payload: Message | None = None, **changes: str) -> Event:
    fields: dict[str, str] = {
        "complaint_id": "complaint-1",
        "producer": "intake",
        "event_id": "event-1",
    }
    fields.update(changes)
    return new_event(
        payload=payload if payload is not None else pb.ComplaintAssigned(handler_id="ann"),
        occurred_at=OCCURRED,
        recorded_at=RECORDED,
        **fields,
    )


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (pb.ComplaintReceived(subject="x"), "received"),
        (pb.ComplaintClassified(category="fees"), "classified"),
        (pb.ComplaintAssigned(handler_id="ann"), "assigned"),
        (pb.ActivityRecorded(), "activity"),
        (cpb.ClockStarted(), "clock_started"),
        (cpb.ClocksStarted(clocks=[cpb.ClockStarted()]), "clocks_started"),
        (cpb.ClockBreached(), "clock_breached"),
        (cpb.Escalated(), "escalated"),
        (npb.NotificationSent(signed_by="Mei Chen"), "notification_sent"),
        (npb.NotificationFailed(reason="550"), "notification_failed"),
    ],
)
def test_the_payload_type_picks_the_event_kind(payload: Message, kind: str) -> None:
    event = an_event(payload)

    assert event_type(event) == kind
    assert getattr(event, kind) == payload


@pytest.mark.parametrize("field", PAYLOAD_FIELDS, ids=lambda f: f.name)
def test_every_payload_the_envelope_declares_can_be_wrapped(field: FieldDescriptor) -> None:
    assert field.message_type is not None
    payload_class = GetMessageClass(field.message_type)

    assert event_type(an_event(payload_class())) == field.name


@pytest.mark.parametrize(
    "payload",
    [pb.Customer(), pb.Reason(), envelope_pb2.DeadLetter()],
    ids=lambda p: type(p).__name__,
)
def test_a_message_that_is_not_an_event_payload_is_refused(payload: Message) -> None:
    with pytest.raises(TypeError, match=f"{payload.DESCRIPTOR.full_name} is not an Event payload"):
        an_event(payload)


def test_the_envelope_carries_ids_producer_and_both_times() -> None:
    event = an_event(causation_id="cause-1", correlation_id="corr-1")

    assert (event.event_id, event.complaint_id, event.producer) == (
        "event-1",
        "complaint-1",
        "intake",
    )
    assert (event.causation_id, event.correlation_id) == ("cause-1", "corr-1")
    assert event.occurred_at.ToDatetime(tzinfo=UTC) == OCCURRED
    assert event.recorded_at.ToDatetime(tzinfo=UTC) == RECORDED


def test_a_first_event_correlates_with_itself() -> None:
    event = an_event()

    assert event.correlation_id == "event-1"
    assert event.causation_id == ""


def test_times_in_other_zones_are_stored_as_the_same_instant() -> None:
    sydney = OCCURRED.astimezone(ZoneInfo("Australia/Sydney"))

    event = new_event(
        complaint_id="c",
        producer="p",
        event_id="e",
        payload=pb.ActivityRecorded(),
        occurred_at=sydney,
        recorded_at=RECORDED,
    )

    assert event.occurred_at.ToDatetime(tzinfo=UTC) == OCCURRED


def test_a_naive_time_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        new_event(
            complaint_id="c",
            producer="p",
            event_id="e",
            payload=pb.ActivityRecorded(),
            occurred_at=datetime(2025, 3, 14, 16, 55),
            recorded_at=RECORDED,
        )


def test_encode_keys_by_complaint_id_and_labels_the_content() -> None:
    key, _, headers = encode(an_event(pb.ComplaintClassified()))

    assert key == b"complaint-1"
    assert dict(headers) == {
        CONTENT_TYPE_HEADER: EVENT_CONTENT_TYPE,
        EVENT_TYPE_HEADER: b"classified",
    }


@pytest.mark.parametrize(
    "payload",
    [
        pb.ComplaintReceived(
            subject="Card declined",
            customer=pb.Customer(display_name="Zoë Ångström", email="zoe@example.com"),
            attributes={"k": "v"},
        ),
        pb.ComplaintAssigned(reasons=[pb.Reason(code="team.category", detail="Care")]),
        npb.NotificationSent(signed_by="Mei Chen"),
    ],
    ids=lambda p: type(p).__name__,
)
def test_an_encoded_event_decodes_to_the_same_event(payload: Message) -> None:
    event = an_event(payload, causation_id="cause-1")

    _, value, _ = encode(event)

    assert decode(value) == event


@pytest.mark.parametrize("value", [b"", None], ids=["empty", "tombstone"])
def test_an_empty_message_is_undecodable_and_says_so(value: bytes | None) -> None:
    with pytest.raises(UndecodableMessage, match=r"^empty message value"):
        decode(value)


@pytest.mark.parametrize("value", [b"\xff\xff\xff", b"garbage", b'{"event_id": "e"}'])
def test_bytes_that_are_not_protobuf_are_undecodable_and_say_so(value: bytes) -> None:
    with pytest.raises(UndecodableMessage, match=r"^not a kintsugi\.events\.v1\.Event protobuf"):
        decode(value)


@pytest.mark.parametrize(
    ("blank", "named"),
    [
        (("event_id",), "event_id"),
        (("complaint_id",), "complaint_id"),
        (("event_id", "complaint_id"), "event_id, complaint_id"),
    ],
)
def test_an_event_without_its_ids_is_undecodable_naming_the_missing_fields(
    blank: tuple[str, ...], named: str
) -> None:
    event = an_event()
    for name in blank:
        event.ClearField(name)

    with pytest.raises(UndecodableMessage) as undecodable:
        decode(event.SerializeToString())

    assert str(undecodable.value) == f"Event is missing required field(s): {named}"


def test_an_event_without_a_payload_is_undecodable_and_says_so() -> None:
    event = an_event()
    event.ClearField("assigned")

    with pytest.raises(UndecodableMessage, match="Event has no payload"):
        decode(event.SerializeToString())


def test_a_payload_from_a_newer_schema_is_an_unknown_kind_not_poison() -> None:
    # Field 99 in the oneof range does not exist yet: an old consumer sees no payload.
    event = an_event()
    event.ClearField("assigned")
    newer = event.SerializeToString() + b"\x9a\x06\x02\x08\x01"  # field 99, 2 bytes

    with pytest.raises(UnknownEventKind, match=r"unknown kind \(fields \[99\]\)"):
        decode(newer)


def test_an_event_with_a_time_no_calendar_holds_is_undecodable_naming_where() -> None:
    # Every handler reading it would fail on each retry; say so once, at the door.
    event = an_event()
    event.ClearField("assigned")
    event.clock_warning.due_at.seconds = 2**62
    event.recorded_at.nanos = -1

    with pytest.raises(UndecodableMessage) as undecodable:
        decode(event.SerializeToString())

    assert str(undecodable.value) == (
        "Event has timestamps outside years 1 to 9999: recorded_at, clock_warning.due_at"
    )
