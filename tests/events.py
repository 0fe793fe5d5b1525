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
