"""What one intake process knows about its own claims that the log may not show yet.

- Requests for the same id in this process are handled one after another, so two of them
  (a raw-topic record and a gRPC retry, say) never both publish.
- An id this process claimed but could not publish (Kafka down, deadline hit) is retried
  here without waiting for another replica that does not exist.
- An id this process published inside a consumer batch (its marker waits for the batch's
  flush) is answered as published: the flush succeeds, or the process stops.
Both memories are bounded; forgetting only costs a short wait or a repeat with same ids.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

MAX_REMEMBERED = 10_000


class _Bounded:
    def __init__(self, limit: int) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def add(self, key: str) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self._limit:
            self._keys.popitem(last=False)

    def discard(self, key: str) -> None:
        self._keys.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._keys


@dataclass
class _KeyLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class LocalClaims:
    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self.unpublished = _Bounded(limit)
        self.published = _Bounded(limit)
        self._locks: dict[str, _KeyLock] = {}

    @contextlib.asynccontextmanager
    async def exclusive(self, key: str) -> AsyncIterator[None]:
        held = self._locks.setdefault(key, _KeyLock())
        held.users += 1
        try:
            async with held.lock:
                yield
        finally:
            held.users -= 1
            if held.users == 0:
                del self._locks[key]
