"""The Kafka wire format of complaint events: protobuf ``Event`` keyed by complaint id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf import unknown_fields
from google.protobuf.message import DecodeError, Message

from kintsugi.common.ids import derived_id
from kintsugi.common.timeutil import to_timestamp
from kintsugi.events.v1 import envelope_pb2

__all__ = [
    "DeadLetter",
    "Event",
    "UndecodableMessage",
    "UnknownEventKind",
    "decode",
    "derived_id",
    "encode",
]

Event = envelope_pb2.Event
DeadLetter = envelope_pb2.DeadLetter

EVENT_TYPE_HEADER = "kintsugi-event-type"
CONTENT_TYPE_HEADER = "content-type"
EVENT_CONTENT_TYPE = b"application/x-protobuf; messageType=kintsugi.events.v1.Event"


class UndecodableMessage(ValueError):
    """A message that can never be processed; the text is the dead-letter reason."""


class UnknownEventKind(Exception):
    """An envelope whose payload is of a kind this build does not know: a newer producer's
    event (protobuf keeps the new field as an unknown field). Not poison: consumers skip
    it, counted, as they skip the kinds they do not consume."""


def new_event(
    *,
    complaint_id: str,
    producer: str,
    payload: Message,
    occurred_at: datetime,
    recorded_at: datetime,
    event_id: str,
    causation_id: str = "",
    correlation_id: str = "",
) -> Event:
    """Wrap a payload in an envelope; the oneof field is chosen by the payload's type.

    ``causation_id`` is the event this one answers; ``correlation_id`` ties together every
    event descending from one submission (a first event correlates with itself).
    """
    event = Event(
        event_id=event_id,
        complaint_id=complaint_id,
        producer=producer,
        occurred_at=to_timestamp(occurred_at),
        recorded_at=to_timestamp(recorded_at),
        correlation_id=correlation_id or event_id,
        causation_id=causation_id,
    )
    type_name = payload.DESCRIPTOR.full_name if payload.DESCRIPTOR is not None else "?"
    field = _PAYLOAD_FIELD_BY_TYPE.get(type_name)
    if field is None:
        raise TypeError(f"{type_name} is not an Event payload")
    getattr(event, field).CopyFrom(payload)
    return event


def header_value(headers: Any, name: str) -> str | None:
    """A header's text from a record's headers: (name, value) pairs or a mapping."""
    if not headers:
        return None
    pairs = headers.items() if hasattr(headers, "items") else headers
    for key, value in pairs:
        if key == name:
            return bytes(value).decode(errors="replace")
    return None


def event_type(event: Event) -> str:
    return event.WhichOneof("payload") or "unknown"


def encode(event: Event) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key, value and headers for producing ``event``."""
    headers = [
        (CONTENT_TYPE_HEADER, EVENT_CONTENT_TYPE),
        (EVENT_TYPE_HEADER, event_type(event).encode()),
    ]
    return event.complaint_id.encode(), event.SerializeToString(), headers


def decode(value: bytes | None) -> Event:
    """Parse and sanity-check an envelope, or raise ``UndecodableMessage`` saying why."""
    if not value:
        raise UndecodableMessage("empty message value: expected a kintsugi.events.v1.Event")
    event = Event()
    try:
        event.ParseFromString(value)
    except DecodeError as error:
        raise UndecodableMessage(f"not a kintsugi.events.v1.Event protobuf: {error}") from error
    missing = [name for name in ("event_id", "complaint_id") if not getattr(event, name)]
    if missing:
        raise UndecodableMessage(f"Event is missing required field(s): {', '.join(missing)}")
    broken = _invalid_timestamps(event)
    if broken:
        raise UndecodableMessage(
            f"Event has timestamps outside years 1 to 9999: {', '.join(broken)}"
        )
    if event.WhichOneof("payload") is None:
        unknown = unknown_fields.UnknownFieldSet(event)
        newer = sorted({unknown[i].field_number for i in range(len(unknown))})
        if newer:
            raise UnknownEventKind(f"Event payload of an unknown kind (fields {newer})")
        raise UndecodableMessage("Event has no payload (empty oneof 'payload')")
    return event


# google.protobuf.Timestamp's valid range (0001-01-01 to 9999-12-31): beyond it no
# datetime holds the instant, and every handler reading it would fail on each retry.
_MIN_SECONDS, _MAX_SECONDS = -62_135_596_800, 253_402_300_799


def _invalid_timestamps(message: Message, path: str = "") -> list[str]:
    """Paths of the timestamps in ``message`` that no calendar can hold."""
    found = []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            if field.message_type.fields_by_name["value"].message_type is None:
                continue
            value = list(value.values())
        items = value if field.is_repeated else [value]
        for item in items:
            name = path + field.name
            if field.message_type.full_name == "google.protobuf.Timestamp":
                if not (_MIN_SECONDS <= item.seconds <= _MAX_SECONDS and 0 <= item.nanos < 10**9):
                    found.append(name)
            else:
                found.extend(_invalid_timestamps(item, name + "."))
    return found


_PAYLOAD_FIELD_BY_TYPE = {
    field.message_type.full_name: field.name
    for field in Event.DESCRIPTOR.oneofs_by_name["payload"].fields
    if field.message_type is not None
}
