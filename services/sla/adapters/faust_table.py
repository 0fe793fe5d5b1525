"""The clock table as the keeper sees it, over a Faust table, with writes in the right place.

Faust's RocksDB store files a write under the partition of the event being processed, and
asserts there is one. The keeper writes after a batch (whose events may come from several
partitions) and from the timer (no event at all), so each write here is made as if from an
event of the key's own partition: the one the default partitioner also gives its
changelog record. The local RocksDB partition then always matches the changelog partition,
which is what a restore after a rebalance reads.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from faust.streams import _current_event

from services.sla.adapters.partitions import partition_of


@dataclass(frozen=True, slots=True)
class _PartitionOnly:
    topic: str
    partition: int


@dataclass(frozen=True, slots=True, weakref_slot=True)  # Faust holds it by weak reference
class _WriteContext:
    message: _PartitionOnly


class FaustClockTable:
    def __init__(self, table: Any, source_topic: str, partitions: int) -> None:
        self._table = table
        self._source_topic = source_topic
        self._partitions = partitions

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._table.get(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        context = _WriteContext(
            _PartitionOnly(self._source_topic, partition_of(key, self._partitions))
        )
        token = _current_event.set(weakref.ref(context))  # type: ignore[arg-type]
        try:
            self._table[key] = value
        finally:
            _current_event.reset(token)

    def items(self) -> Iterable[tuple[bytes, bytes]]:
        items: Iterable[tuple[bytes, bytes]] = self._table.items()
        return items
