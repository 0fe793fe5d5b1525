"""A ClockKeeper over in-memory parts: a dict table, a producer that records its sends."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from google.protobuf.message import Message

from kintsugi.common.codec import Event, encode
from kintsugi.common.kafka import DeadLetterPublisher, RetryPolicy
from kintsugi.common.timeutil import to_timestamp
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.events.v1 import notification_pb2 as npb
from services.sla.adapters.keeper import ClockKeeper
from services.sla.domain import PolicySet
from services.sla.service import SlaService
from tests.events import an_event

TOPIC = "events"
PARTITIONS = 6
POLICIES = PolicySet.default()


@dataclass
class Sent:
    topic: str
    key: bytes | None
    value: bytes
    headers: Any


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.fail_next = 0

    async def send(self, topic: str, value: bytes, key: bytes | None = None, headers: Any = None):  # type: ignore[no-untyped-def]
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.fail_next:
            self.fail_next -= 1
            future.set_exception(ConnectionError("broker gone"))
        else:
            self.sent.append(Sent(topic, key, value, headers))
            future.set_result(None)
        return future


class CountingTable(dict[bytes, bytes]):
    """A dict that counts reads, to show what a tick touched."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, key: bytes, default: Any = None) -> Any:  # type: ignore[override]
        self.reads += 1
        return super().get(key, default)


@dataclass
class Message_:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class Now:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def make_keeper(
    now: Now, *, tick_chunk: int = 500, table_from: dict[bytes, bytes] | None = None
) -> tuple[ClockKeeper, CountingTable, RecordingProducer]:
    """A keeper owning every partition; with `table_from`, a restart over those values."""
    table = CountingTable()
    table.update(table_from or {})
    producer = RecordingProducer()
    keeper = ClockKeeper(
        SlaService(POLICIES),
        table,
        lambda: producer,  # type: ignore[arg-type,return-value]
        TOPIC,
        lambda: DeadLetterPublisher(producer, "dead", "sla", now),  # type: ignore[arg-type]
        now,
        partitions=PARTITIONS,
        tick_chunk=tick_chunk,
        retry=RetryPolicy(attempts=1),
    )
    await keeper.assign(range(PARTITIONS))
    return keeper, table, producer


def event(complaint_id: str, event_id: str, at: datetime, payload: Message) -> Event:
    return an_event(complaint_id, event_id, payload, at)


def classified(complaint_id: str, received_at: datetime, regime: str = "none") -> Event:
    return event(
        complaint_id,
        f"{complaint_id}-classified",
        received_at,
        pb.ComplaintClassified(
            category="service",
            severity=pb.SEVERITY_MEDIUM,
            regime=regime,
            jurisdiction="GB-ENG",
            channel=pb.CHANNEL_EMAIL,
            received_at=to_timestamp(received_at),
        ),
    )


def progress_update(complaint_id: str, event_id: str, at: datetime) -> Event:
    return event(
        complaint_id,
        event_id,
        at,
        npb.NotificationSent(purpose=npb.NOTIFICATION_PURPOSE_PROGRESS_UPDATE),
    )


def consumed(*events: Event) -> list[Message_]:
    messages = []
    for offset, e in enumerate(events):
        key, value, headers = encode(e)
        messages.append(Message_(TOPIC, 0, offset, key, value, headers))
    return messages
