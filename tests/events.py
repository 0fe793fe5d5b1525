"""Events as a producer of the given payload would publish them, for tests."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.message import Message

from kintsugi.common.codec import Event, new_event


def an_event(
    complaint_id: str,
    event_id: str,
    payload: Message,
    at: datetime,
    correlation_id: str = "",
) -> Event:
    """``payload`` about ``complaint_id``, happened and recorded ``at``."""
    return new_event(
        complaint_id=complaint_id,
        producer="test",
        event_id=event_id,
        occurred_at=at,
        recorded_at=at,
        correlation_id=correlation_id,
        payload=payload,
    )


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def unknown_field(number: int, body: bytes) -> bytes:
    """A length-delimited field ``number``: what a newer schema's message field looks like."""
    return _varint(number << 3 | 2) + _varint(len(body)) + body


# Field numbers no version of the schema has used yet.
NEWER_ENVELOPE_FIELD = 15
NEWER_PAYLOAD_KIND = 99
NEWER_PAYLOAD_FIELD = 50


def from_a_newer_producer(event: Event, *, new_kind: bool = False) -> bytes:
    """``event`` as a producer built on a later schema serialises it: with fields this build
    does not know in the envelope and in the payload - or, ``new_kind``, with a payload of
    a kind this build does not know in place of the payload."""
    newer = Event()
    newer.CopyFrom(event)
    kind = newer.WhichOneof("payload")
    assert kind is not None
    if new_kind:
        newer.ClearField(kind)
        tail = unknown_field(NEWER_PAYLOAD_KIND, unknown_field(1, b"merged-into-c-0"))
    else:
        payload = getattr(newer, kind)
        payload.ParseFromString(
            payload.SerializeToString() + unknown_field(NEWER_PAYLOAD_FIELD, b"newer detail")
        )
        tail = b""
    return newer.SerializeToString() + unknown_field(NEWER_ENVELOPE_FIELD, b"tenant-7") + tail
