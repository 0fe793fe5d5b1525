"""Presence and capacity from workforce management, on a compacted topic keyed by handler id.

A record's value is JSON, for example::

    {"presence": "away", "since": "2026-11-23T09:12:00Z", "capacity": 12}

``presence`` is required; ``since`` (when the presence began, an aware instant) defaults
to when the router read it; ``capacity`` is optional. Every replica reads the whole topic
from the start, so a restart knows everyone's presence; a record it cannot use is
dead-lettered with the reason and the rest go on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from kintsugi.common.ids import Cause, derived_id
from kintsugi.common.kafka import DeadLetterPublisher, topic_partitions
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.logs import get_logger
from kintsugi.common.ops_server import Health
from kintsugi.common.timeutil import Clock
from services.router.domain.directory import Presence
from services.router.service import Router

log = get_logger(__name__)


class _Update(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    presence: Presence
    since: AwareDatetime | None = None
    capacity: int | None = Field(default=None, gt=0)


@dataclass(frozen=True, slots=True)
class DirectoryUpdate:
    handler_id: str
    presence: Presence
    since: dt.datetime | None
    capacity: int | None
    update_id: str


class BadUpdate(ValueError):
    pass


def parse_update(key: bytes | None, value: bytes | None, offset: int) -> DirectoryUpdate | None:
    """The update in a record; None for a tombstone (a person removed: nothing to change)."""
    if not key:
        raise BadUpdate("directory update without a key: the key is the handler id")
    handler_id = key.decode(errors="replace")
    if value is None:
        return None
    try:
        update = _Update.model_validate_json(value)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in error.errors()
        )
        raise BadUpdate(f"directory update for {handler_id}: {problems}") from error
    return DirectoryUpdate(
        handler_id,
        update.presence,
        update.since,
        update.capacity,
        derived_id("directory-update", handler_id, str(offset)),
    )


async def follow_directory_updates(
    router: Router,
    kafka: KafkaSettings,
    topic: str,
    dead_letters: DeadLetterPublisher,
    stop: asyncio.Event,
    clock: Clock,
) -> None:
    consumer = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topic)
        if not partitions:
            raise LookupError(f"directory updates topic {topic} has no partitions: create it")
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        while not stop.is_set():
            fetched = await consumer.getmany(timeout_ms=500)
            for records in fetched.values():
                for record in records:
                    await _apply(router, record, dead_letters, clock)
    finally:
        await consumer.stop()


class FollowerHealth:
    """The follower's part in the health check. A router that stopped hearing presence and
    capacity goes on assigning to people who went home and never drains a queue on a
    capacity rise, so a dead follower must not be a log line only: readiness drops, and
    liveness fails so the orchestrator restarts the router, which re-reads the topic."""

    CHECK = "directory-updates"

    def __init__(self, health: Health) -> None:
        self._health = health
        self.following = False
        health.add_check(self.CHECK, lambda: self.following)

    async def watch(self, follow: Awaitable[None]) -> None:
        self.following = True
        try:
            await follow
        except Exception as error:  # whatever it was, the follower has stopped for good
            log.error("directory_updates_stopped", error=repr(error))
            self._health.fail(f"directory updates follower stopped: {error!r}")
        finally:
            self.following = False


async def _apply(
    router: Router,
    record: ConsumerRecord[bytes, bytes],
    dead_letters: DeadLetterPublisher,
    clock: Clock,
) -> None:
    try:
        update = parse_update(record.key, record.value, record.offset)
    except BadUpdate as error:
        await dead_letters.publish(record, str(error), "permanent", 1)
        return
    if update is None:
        return
    decisions = await router.presence_changed(
        update.handler_id,
        update.presence,
        update.capacity,
        Cause(update.update_id, update.update_id),
        clock(),
        update.since,
    )
    log.info(
        "directory_update",
        handler=update.handler_id,
        presence=update.presence,
        capacity=update.capacity,
        decisions=len(decisions),
    )
