"""Intake's ledger: the first claim for a complaint or activity id decides what it means.

Every request is claimed on a log (the ``intake-submissions`` topic) before its events are
published. The claims for one id share a partition, so the log orders them, and every
replica that reads the log agrees which came first: that claim wins, and every later
request with the same id is either the same content (answered with the first claim's
response, its events re-published only if no replica marked them published) or a
conflict. ``ClaimTable`` is that rule, applied to records in log order; the Kafka adapter
feeds it and an in-memory log feeds it in unit tests.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from kintsugi.common.codec import Event

Position = tuple[int, int]  # (partition, offset) of a claim on the log


@dataclass(slots=True)
class LedgerEntry:
    """What an id means: the first claim's content digest, response and events."""

    key: str
    fingerprint: bytes
    response: bytes
    # The events to (re-)publish; dropped once they are known to be published.
    events: tuple[Event, ...]
    position: Position
    published: bool = False


@dataclass(frozen=True, slots=True)
class Claim:
    key: str
    fingerprint: bytes
    response: bytes
    events: tuple[Event, ...]


class Ledger(Protocol):
    def entry(self, key: str) -> LedgerEntry | None:
        """The winning claim for ``key`` as far as this replica has read the log."""
        ...

    async def claim(self, claim: Claim) -> tuple[LedgerEntry, bool]:
        """Append ``claim`` and read the log up to it: the winning entry, and whether the
        winner is this very claim."""
        ...

    async def mark_published(self, entry: LedgerEntry) -> None:
        """Record that the entry's events are durable on the events topic (inside a consumer
        batch: once the batch's events are)."""
        ...

    async def wait_published(self, key: str, timeout_s: float) -> bool:
        """Wait (at most ``timeout_s``) for another replica to mark ``key`` published."""
        ...

    async def sync(self) -> None:
        """Read the log up to its end as of now (before saying an id is unknown)."""
        ...


@dataclass
class ClaimTable:
    """The first claim per key, in the order the log holds them."""

    _entries: dict[str, LedgerEntry] = field(default_factory=dict)
    _published: dict[str, asyncio.Event] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, key: str) -> LedgerEntry | None:
        return self._entries.get(key)

    def apply_claim(self, claim: Claim, position: Position) -> None:
        if claim.key not in self._entries:  # a later claim for a known key loses
            self._entries[claim.key] = LedgerEntry(
                claim.key, claim.fingerprint, claim.response, claim.events, position
            )

    def apply_published(self, key: str, fingerprint: bytes) -> None:
        entry = self._entries.get(key)
        if entry is None or entry.fingerprint != fingerprint or entry.published:
            return
        entry.published = True
        entry.events = ()  # never needed again; keeps a replica's memory per id small
        waiter = self._published.pop(key, None)
        if waiter is not None:
            waiter.set()

    async def wait_published(self, key: str, timeout_s: float) -> bool:
        entry = self._entries.get(key)
        if entry is not None and entry.published:
            return True
        waiter = self._published.setdefault(key, asyncio.Event())
        try:
            async with asyncio.timeout(max(0.0, timeout_s)):
                await waiter.wait()
        except TimeoutError:
            return False
        return True


class InMemoryLedger:
    """A single-partition log in memory, for tests and for trying the use case out."""

    def __init__(self) -> None:
        self.table = ClaimTable()
        self.log: list[Claim | tuple[str, bytes]] = []

    def entry(self, key: str) -> LedgerEntry | None:
        return self.table.entry(key)

    async def claim(self, claim: Claim) -> tuple[LedgerEntry, bool]:
        position = (0, len(self.log))
        self.log.append(claim)
        self.table.apply_claim(claim, position)
        entry = self.table.entry(claim.key)
        assert entry is not None
        return entry, entry.position == position

    async def mark_published(self, entry: LedgerEntry) -> None:
        self.log.append((entry.key, entry.fingerprint))
        self.table.apply_published(entry.key, entry.fingerprint)

    async def wait_published(self, key: str, timeout_s: float) -> bool:
        return await self.table.wait_published(key, timeout_s)

    async def sync(self) -> None:
        return None  # one process, one log: always read to the end
