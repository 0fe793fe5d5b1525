"""Which complaints fall due when: a min-heap of wake-up instants, one entry live per key.

A tick asks for the keys due at or before `now` and touches only those, so its cost follows
the clocks falling due, not the clocks open. Rescheduling a key pushes a new entry and
leaves the old one in the heap (it is skipped when it surfaces, because it no longer
matches the key's current wake-up); the heap is rebuilt when such dead entries outnumber
the live ones, so memory stays within twice the live entries.

Pure and generic over the key type: the runtime keeps one per partition it owns.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class DueIndex(Generic[K]):
    __slots__ = ("_heap", "_wakeups")

    def __init__(self, entries: Iterable[tuple[K, int | None]] = ()) -> None:
        self._wakeups: dict[K, int] = {key: at for key, at in entries if at is not None}
        self._heap: list[tuple[int, K]] = [(at, key) for key, at in self._wakeups.items()]
        heapq.heapify(self._heap)

    def __len__(self) -> int:
        return len(self._wakeups)

    def __contains__(self, key: object) -> bool:
        return key in self._wakeups

    def wakeup(self, key: K) -> int | None:
        return self._wakeups.get(key)

    def schedule(self, key: K, at: int | None) -> None:
        """Set (or with None, clear) when `key` next needs a tick."""
        if at is None:
            self._wakeups.pop(key, None)
            return
        if self._wakeups.get(key) == at:
            return
        self._wakeups[key] = at
        heapq.heappush(self._heap, (at, key))
        if len(self._heap) > 2 * len(self._wakeups) + 64:
            self._compact()

    def next_at(self) -> int | None:
        self._drop_dead_top()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: int, limit: int | None = None) -> list[K]:
        """Remove and return up to `limit` keys due at or before `now`, earliest first.

        The caller handles them and schedules each again with its next wake-up (or none);
        a key left unscheduled is forgotten, so a failed tick must put its keys back.
        """
        due: list[K] = []
        while self._heap and (limit is None or len(due) < limit):
            at, key = self._heap[0]
            if at > now:
                break
            heapq.heappop(self._heap)
            if self._wakeups.get(key) == at:
                del self._wakeups[key]
                due.append(key)
        return due

    def _drop_dead_top(self) -> None:
        while self._heap and self._wakeups.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)

    def _compact(self) -> None:
        self._heap = [(at, key) for key, at in self._wakeups.items()]
        heapq.heapify(self._heap)
