"""SLA use cases over a complaint's serialised clocks: start, milestones, ticks, explain.

State goes in and out as bytes so the runtime (a Faust table today) never needs to know
the domain's shape. Callers publish the returned events *before* storing the new state:
a crash in between replays to the same events with the same ids, never to lost ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.sla.domain import (
    ClockEvent,
    ComplaintClocks,
    ComplaintFacts,
    Milestone,
    PolicySet,
)
from services.sla.domain.complaint_clocks import Replanned
from services.sla.domain.risk import OpenDeadlines, open_deadlines


@dataclass(frozen=True, slots=True)
class Outcome:
    """The state to store, the events to publish, and when to look at it again; for a new
    state, also its open deadlines (so the runtime need not decode it again)."""

    state: bytes | None
    events: list[ClockEvent]
    next_wakeup: datetime | None = None
    deadlines: OpenDeadlines | None = None


class SlaService:
    def __init__(self, policies: PolicySet) -> None:
        self._policies = policies

    def start(self, facts: ComplaintFacts, existing: bytes | None) -> Outcome:
        if existing is not None:  # a replayed 'classified': the clocks are already running
            return Outcome(existing, [], self.next_wakeup(existing))
        clocks, events = ComplaintClocks.start(facts, self._policies)
        return self._after(clocks, events)

    def milestone(
        self, state: bytes | None, milestone: Milestone, at: datetime, cause_id: str = ""
    ) -> Outcome:
        """Apply a milestone reported by event `cause_id`; a replay of it changes nothing."""
        if state is None:
            return Outcome(None, [])
        clocks = ComplaintClocks.from_bytes(state)
        if cause_id and clocks.has_applied(cause_id):
            return Outcome(state, [], clocks.next_wakeup())
        events = clocks.on_milestone(milestone, at, self._policies, cause_id)
        return self._after(clocks, events)

    def tick(self, state: bytes, now: datetime) -> Outcome:
        clocks = ComplaintClocks.from_bytes(state)
        wakeup = clocks.next_wakeup()
        if wakeup is None or wakeup > now:
            return Outcome(state, [], wakeup)
        return self._after(clocks, clocks.tick(now, self._policies))

    def require_policy(self, policy_id: str, version: int) -> None:
        """Raise StateError naming what is loaded unless that version of the policy is."""
        self._policies.policy(policy_id, version)

    def migrate(
        self, state: bytes, policy_id: str, to_version: int, at: datetime
    ) -> tuple[Outcome, list[Replanned]]:
        """Move the complaint's running clocks of `policy_id` to `to_version` (see
        ``ComplaintClocks.migrate``); the outcome keeps `state` when nothing moved."""
        clocks = ComplaintClocks.from_bytes(state)
        moved, events = clocks.migrate(policy_id, to_version, at, self._policies)
        if not moved:
            return Outcome(state, [], clocks.next_wakeup()), []
        return self._after(clocks, events), moved

    def next_wakeup(self, state: bytes) -> datetime | None:
        return ComplaintClocks.from_bytes(state).next_wakeup()

    def watch_points(self, state: bytes) -> tuple[datetime | None, OpenDeadlines]:
        """When to look at `state` again, and its open deadlines (one decode for both)."""
        clocks = ComplaintClocks.from_bytes(state)
        return clocks.next_wakeup(), open_deadlines(clocks, self._policies)

    def explain(self, state: bytes, now: datetime) -> list[dict[str, Any]]:
        clocks = ComplaintClocks.from_bytes(state)
        return [explanation.to_dict() for explanation in clocks.explain(now, self._policies)]

    def _after(self, clocks: ComplaintClocks, events: list[ClockEvent]) -> Outcome:
        # Finished clocks are kept: a replayed 'received' must not restart them, and an
        # operator may still ask why a met or breached clock read what it read.
        return Outcome(
            clocks.to_bytes(),
            events,
            clocks.next_wakeup(),
            open_deadlines(clocks, self._policies),
        )
