"""Time at the edges: adapters read the wall clock through a ``Clock`` they are given."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def to_timestamp(instant: datetime) -> Timestamp:
    if instant.tzinfo is None:
        raise ValueError("naive datetime: every instant in Kintsugi is timezone-aware")
    stamp = Timestamp()
    stamp.FromDatetime(instant.astimezone(UTC))
    return stamp


def from_timestamp(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)
