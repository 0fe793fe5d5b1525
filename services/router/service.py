"""Router use cases: every fact the router hears becomes decisions, saved, then announced.

The ``Desk`` decides; this layer keeps each case's saved record current and announces the
decisions. A fact heard again (a redelivery after a crash) decides nothing new; what it
decided the first time is announced again with the same ids, because decisions are saved
before they are announced.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Protocol

from kintsugi.common.ids import Cause, derived_id
from services.router.domain.desk import (
    Activity,
    Assigned,
    ClockAlert,
    Decision,
    Desk,
    TeamLoad,
)
from services.router.domain.directory import Directory, Handler, Presence
from services.router.domain.records import Announced, StoredCase
from services.router.domain.routing import RoutingRequest


class CaseStore(Protocol):
    def all(self) -> Iterable[StoredCase]: ...
    async def save(self, stored: StoredCase) -> None: ...


class DecisionEvents(Protocol):
    async def announce(self, decision: Decision, cause: Cause) -> None: ...


class Router:
    def __init__(self, directory: Directory, store: CaseStore, events: DecisionEvents) -> None:
        self._directory = directory
        self._store = store
        self._events = events
        self.desk = Desk(directory)
        self._announced: dict[str, tuple[Announced, ...]] = {}
        self._by_cause: dict[str, list[Decision]] = {}
        self.reload()

    def reload(self) -> None:
        """After the store gained or lost partitions in a rebalance."""
        saved = list(self._store.all())
        self._announced = {s.complaint_id: s.announced for s in saved}
        self._by_cause = {}
        for stored in saved:
            for a in stored.announced:
                self._by_cause.setdefault(a.cause_id, []).append(a.decision)
        self.desk.restore(s.case for s in saved)

    def open_by_handler(self) -> list[tuple[Handler, int]]:
        """Open complaints per person (a count, where capacity is severity-weighted)."""
        counts = Counter(
            c.handler_id for c in self.desk.cases.values() if c.handler_id and not c.closed
        )
        return [(h, counts[h.id]) for h in self._directory.handlers()]

    def team_loads(self) -> list[TeamLoad]:
        return self.desk.team_loads()

    async def classified(
        self,
        request: RoutingRequest,
        cause: Cause,
        now: dt.datetime,
        classified_at: dt.datetime | None = None,
    ) -> list[Decision]:
        decisions = self.desk.classified(request, cause.event_id, now, classified_at)
        return await self._settle(decisions, cause)

    async def activity(self, activity: Activity, cause: Cause, now: dt.datetime) -> list[Decision]:
        return await self._settle(self.desk.activity(activity, now), cause)

    async def clock_alert(self, alert: ClockAlert, cause: Cause) -> list[Decision]:
        return await self._settle(self.desk.clock_alert(alert), cause)

    async def presence_changed(
        self,
        handler_id: str,
        presence: Presence,
        capacity: int | None,
        cause: Cause,
        now: dt.datetime,
        since: dt.datetime | None = None,
    ) -> list[Decision]:
        decisions = self.desk.presence_changed(
            handler_id, presence, capacity, cause.event_id, now, since
        )
        return await self._settle(decisions, cause)

    async def sweep(self, now: dt.datetime) -> list[Decision]:
        """Cover for people absent too long; the tick's id is its minute, so a repeat agrees."""
        tick = derived_id("router-sweep", now.replace(second=0, microsecond=0).isoformat())
        return await self._settle(self.desk.sweep(now, tick), Cause(tick, tick))

    async def _settle(self, decisions: list[Decision], cause: Cause) -> list[Decision]:
        if not decisions:
            decisions = self._already_decided(cause.event_id)
        for decision in decisions:
            mine = self._announced.get(decision.complaint_id, ())
            if all(a.decision.event_id != decision.event_id for a in mine):
                self._announced[decision.complaint_id] = (
                    *mine,
                    Announced(cause.event_id, decision),
                )
                self._by_cause.setdefault(cause.event_id, []).append(decision)
                self.desk.changed.add(decision.complaint_id)
        # Taken before the first await, so a concurrent sweep cannot clear another's changes.
        changed = [
            StoredCase(self.desk.cases[c], self._announced.get(c, ()))
            for c in sorted(self.desk.changed)
        ]
        self.desk.changed.clear()
        # Saved before announced: a crash in between re-announces these, never new ones.
        for stored in changed:
            await self._store.save(stored)
        for decision in decisions:
            await self._events.announce(decision, cause)
        return decisions

    def _already_decided(self, cause_id: str) -> list[Decision]:
        return list(self._by_cause.get(cause_id, ()))


def assignments(decisions: Iterable[Decision]) -> list[Assigned]:
    return [d for d in decisions if isinstance(d, Assigned)]
