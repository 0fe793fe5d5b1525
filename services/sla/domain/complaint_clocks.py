"""All clocks of one complaint, side by side, driven by milestones and ticks.

How milestones act on clocks (by clock kind; a clock's `met_by` may replace the set of
customer communications that meet it):

- ACKNOWLEDGED: meets acknowledgement clocks; counts as a customer update, so it resets
  progress-update cadences.
- CUSTOMER_UPDATED: meets acknowledgement and first-response clocks; resets cadences.
- HOLDING_RESPONSE_SENT: meets holding-response clocks (PSD2 15-day holding reply, CFPB
  "in progress") and clocks that list it in `met_by` (the FCA eight-week clock), plus
  acknowledgement and first response; resets cadences; final-response clocks run on.
- FINAL_RESPONSE_SENT: ends every open clock. It meets acknowledgement, first-response,
  holding, final, resolution and cadence clocks and supersedes the rest (a DISP 1.5 window).
- SUMMARY_RESOLUTION_SENT: while a summary-resolution window is open, meets it and ends
  every other open clock as a final response would, superseding holding and final-response
  clocks (the complaint needs no DISP 1.6 response). With no window open it is only a
  customer update.
- WAITING_ON_CUSTOMER: pauses running pausable (internal) clocks. Regulatory clocks never
  pause.
- CUSTOMER_RESPONDED: resumes paused clocks; their deadlines move back by the time paused.
- REOPENED: restarts finished clocks whose policy says `on_reopen: restart`, from the
  reopening instant, as a new cycle.
- CLOSED: cancels every clock still open.

The first response is a person's reply, so an automatic acknowledgement does not meet it.

A milestone carries the id of the event that reported it (its cause). The aggregate keeps a
fingerprint of every cause it applied, so a replayed or redelivered milestone is recognised
and changes nothing: a replayed `notification_sent` cannot reset a cadence a second time
(cycle 1 -> 2 -> 3 for one update). Every event id is a function of the clock, the
transition and its cycle, and the cycle only moves for a new cause, so a replay of the same
history yields the same events with the same ids.

Before and after applying a milestone at instant `at`, every transition scheduled at or
before `at` is emitted, so a reply that comes after its deadline finds the clock breached.
A milestone dated before the complaint's receipt counts as at receipt.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from services.sla.domain.clock import (
    FINISHED_STATES,
    ClockContext,
    ClockRecord,
    ClockState,
    advance_to,
    open_clock,
    pause,
    replan,
    reset_cycle,
    restart,
    resume,
    started_event,
    stop,
)
from services.sla.domain.definitions import ClockDefinition, ClockKind
from services.sla.domain.errors import ComplaintFactsError, StateError
from services.sla.domain.events import ClockEvent
from services.sla.domain.explain import ClockExplanation, explain_clock
from services.sla.domain.facts import ComplaintFacts, Milestone
from services.sla.domain.instants import from_epoch, to_epoch
from services.sla.domain.policy import PolicySet
from services.sla.domain.serialization import ApplicabilityFacts, decode_state, encode_state

# The fingerprints of applied causes kept per complaint; the oldest go first. A complaint
# sees a handful of milestones; this bounds a pathological one (64 x 18 bytes of state).
MAX_APPLIED_CAUSES = 64


def cause_fingerprint(cause_id: str) -> str:
    """A short, stable stand-in for a cause's event id (64 bits: collisions within one
    complaint's few dozen milestones are out of reach)."""
    return hashlib.blake2b(cause_id.encode(), digest_size=8).hexdigest()


_COMMUNICATIONS_UP_TO_FINAL = frozenset(
    {
        Milestone.ACKNOWLEDGED,
        Milestone.CUSTOMER_UPDATED,
        Milestone.HOLDING_RESPONSE_SENT,
        Milestone.FINAL_RESPONSE_SENT,
        Milestone.SUMMARY_RESOLUTION_SENT,
    }
)
DEFAULT_MET_BY: dict[ClockKind, frozenset[Milestone]] = {
    ClockKind.ACKNOWLEDGEMENT: _COMMUNICATIONS_UP_TO_FINAL,
    ClockKind.FIRST_RESPONSE: _COMMUNICATIONS_UP_TO_FINAL - {Milestone.ACKNOWLEDGED},
    ClockKind.PROGRESS_UPDATE: frozenset(
        {Milestone.FINAL_RESPONSE_SENT, Milestone.SUMMARY_RESOLUTION_SENT}
    ),
    ClockKind.SUMMARY_RESOLUTION: frozenset({Milestone.SUMMARY_RESOLUTION_SENT}),
    ClockKind.HOLDING_RESPONSE: frozenset(
        {Milestone.HOLDING_RESPONSE_SENT, Milestone.FINAL_RESPONSE_SENT}
    ),
    ClockKind.FINAL_RESPONSE: frozenset({Milestone.FINAL_RESPONSE_SENT}),
    ClockKind.RESOLUTION: frozenset(
        {Milestone.FINAL_RESPONSE_SENT, Milestone.SUMMARY_RESOLUTION_SENT}
    ),
}


class Replanned(NamedTuple):
    """One clock moved to another version of its policy by a migration (`to_clock_id`
    differs when the new version replaced the clock by another of the same kind)."""

    clock_id: str
    to_clock_id: str
    from_version: int
    to_version: int
    due_before: dt.datetime
    due_after: dt.datetime


class _Action(enum.Enum):
    NONE = enum.auto()
    MEET = enum.auto()
    RESET = enum.auto()
    SUPERSEDE = enum.auto()
    PAUSE = enum.auto()
    RESUME = enum.auto()
    CANCEL = enum.auto()
    RESTART = enum.auto()


_LIFECYCLE_ACTIONS = {
    Milestone.WAITING_ON_CUSTOMER: _Action.PAUSE,
    Milestone.CUSTOMER_RESPONDED: _Action.RESUME,
    Milestone.REOPENED: _Action.RESTART,
    Milestone.CLOSED: _Action.CANCEL,
}


def action_for(definition: ClockDefinition, milestone: Milestone, resolves: bool) -> _Action:
    """What `milestone` does to a clock; `resolves` = it ends the complaint's clocks."""
    lifecycle = _LIFECYCLE_ACTIONS.get(milestone)
    if lifecycle is not None:
        return lifecycle
    met_by = definition.met_by or DEFAULT_MET_BY[definition.kind]
    if milestone in met_by:
        return _Action.MEET
    if resolves:
        return _Action.SUPERSEDE
    return _Action.RESET if definition.is_cadence else _Action.NONE


class ComplaintClocks:
    """The aggregate of one complaint's clocks. Methods mutate it and return events."""

    __slots__ = (
        "_applied",
        "_calendar_id",
        "_clocks",
        "_complaint_id",
        "_facts",
        "_received_at",
        "_wakeup",
    )

    def __init__(
        self,
        complaint_id: str,
        calendar_id: str,
        received_at: int,
        clocks: Iterable[ClockRecord],
        applied_causes: Iterable[str] = (),
        facts: ApplicabilityFacts | None = None,
    ) -> None:
        self._complaint_id = complaint_id
        self._facts = facts
        self._calendar_id = calendar_id
        self._received_at = received_at
        self._clocks = list(clocks)
        self._applied = list(applied_causes)
        self._wakeup = self._earliest_wakeup()

    @classmethod
    def start(
        cls, facts: ComplaintFacts, policies: PolicySet
    ) -> tuple[ComplaintClocks, list[ClockEvent]]:
        definitions = policies.clocks_for(facts)
        calendar = policies.calendar(facts.jurisdiction)
        received_at = to_epoch(facts.received_at)
        records: list[ClockRecord] = []
        events: list[ClockEvent] = []
        for definition in definitions:
            context = ClockContext(facts.complaint_id, definition, calendar)
            record = open_clock(context, received_at, cycle=0)
            records.append(record)
            events.append(started_event(context, record))
        applicability = ApplicabilityFacts(facts.severity, facts.channel, facts.normalised_category)
        clocks = cls(
            facts.complaint_id, facts.jurisdiction, received_at, records, (), applicability
        )
        return clocks, events

    # --- queries --------------------------------------------------------------------------

    @property
    def complaint_id(self) -> str:
        return self._complaint_id

    @property
    def jurisdiction(self) -> str:
        return self._calendar_id

    @property
    def received_at(self) -> dt.datetime:
        return from_epoch(self._received_at)

    @property
    def clocks(self) -> tuple[ClockRecord, ...]:
        return tuple(self._clocks)

    def next_wakeup(self) -> dt.datetime | None:
        return None if self._wakeup is None else from_epoch(self._wakeup)

    def has_applied(self, cause_id: str) -> bool:
        return cause_fingerprint(cause_id) in self._applied

    def is_finished(self) -> bool:
        return all(record.state in FINISHED_STATES for record in self._clocks)

    def explain(self, now: dt.datetime, policies: PolicySet) -> list[ClockExplanation]:
        """Every clock as it reads at `now` (transitions due by then included)."""
        at = to_epoch(now)
        probe = self.copy()
        probe._advance(at, policies)
        return [
            explain_clock(probe._context(record, policies), record, at, self._received_at)
            for record in probe._clocks
        ]

    # --- transitions ----------------------------------------------------------------------

    def tick(self, now: dt.datetime, policies: PolicySet) -> list[ClockEvent]:
        at = to_epoch(now)
        if self._wakeup is None or at < self._wakeup:
            return []
        return self._advance(at, policies)

    def on_milestone(
        self, milestone: Milestone, at: dt.datetime, policies: PolicySet, cause_id: str = ""
    ) -> list[ClockEvent]:
        """Apply `milestone`; with `cause_id` (the reporting event's id) a second delivery
        of the same cause is recognised and changes nothing."""
        if cause_id:
            fingerprint = cause_fingerprint(cause_id)
            if fingerprint in self._applied:
                return []
            self._applied = [*self._applied, fingerprint][-MAX_APPLIED_CAUSES:]
        instant = max(to_epoch(at), self._received_at)
        events = self._advance(instant, policies)
        contexts = [self._context(record, policies) for record in self._clocks]
        resolves = milestone is Milestone.FINAL_RESPONSE_SENT or (
            milestone is Milestone.SUMMARY_RESOLUTION_SENT
            and any(
                context.definition.kind is ClockKind.SUMMARY_RESOLUTION
                and record.state is ClockState.RUNNING
                for context, record in zip(contexts, self._clocks, strict=True)
            )
        )
        if milestone is Milestone.SUMMARY_RESOLUTION_SENT and not resolves:
            milestone = Milestone.CUSTOMER_UPDATED  # no open window: just an update
        for index, context in enumerate(contexts):
            record, produced = _apply(
                action_for(context.definition, milestone, resolves),
                context,
                self._clocks[index],
                instant,
            )
            self._clocks[index] = record
            events.extend(produced)
        self._wakeup = self._earliest_wakeup()
        events.extend(self._advance(instant, policies))
        return events

    def migrate(
        self, policy_id: str, to_version: int, at: dt.datetime, policies: PolicySet
    ) -> tuple[list[Replanned], list[ClockEvent]]:
        """Move this complaint's running and paused clocks of `policy_id` to its version
        `to_version` at `at` (an explicit operator decision: a policy edit alone never moves
        a running clock).

        A clock the new version still defines, and that still applies, is re-planned in
        place from its start (no event: its next transition carries the new due instant
        and version). One the new version replaces by another clock of the same kind (the
        complaint's facts decide which applies) is superseded and the replacement starts
        from the same instant, as `stopped` + `clocks_started` events. A clock with no
        counterpart keeps the version it started under. State saved before the facts were
        kept can only be re-planned by clock id.
        """
        target = policies.policy(policy_id, to_version)
        facts = self._facts
        applying = [
            definition
            for definition in target.clocks
            if facts is None or definition.applies_when.matches_values(*facts)
        ]
        by_id = {definition.clock_id: definition for definition in applying}
        by_kind = {d.kind: d for d in applying} if facts is not None else {}
        held = {record.clock_id for record in self._clocks}
        instant = max(to_epoch(at), self._received_at)
        moved: list[Replanned] = []
        events: list[ClockEvent] = []
        for index, record in enumerate(list(self._clocks)):
            if record.policy_version == to_version or record.state not in (
                ClockState.RUNNING,
                ClockState.PAUSED,
            ):
                continue
            old = self._context(record, policies)
            if old.definition.policy_id != policy_id:
                continue
            successor = by_id.get(record.clock_id) or by_kind.get(old.definition.kind)
            if successor is None:
                continue
            new = ClockContext(self._complaint_id, successor, old.calendar)
            if successor.clock_id == record.clock_id:
                replanned = replan(old, new, record)
            elif successor.clock_id in held:
                continue
            else:
                self._clocks[index], stopped = stop(old, record, instant, "superseded")
                events.extend(stopped)
                replanned = open_clock(new, record.started_at, cycle=0)
                events.append(started_event(new, replanned))
                self._clocks.append(replanned)
                held.add(successor.clock_id)
            if replanned.clock_id == record.clock_id:
                self._clocks[index] = replanned
            moved.append(
                Replanned(
                    record.clock_id,
                    replanned.clock_id,
                    record.policy_version,
                    to_version,
                    from_epoch(record.due_at),
                    from_epoch(replanned.due_at),
                )
            )
        self._wakeup = self._earliest_wakeup()
        return moved, events

    # --- state ----------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        return encode_state(
            self._complaint_id,
            self._calendar_id,
            self._received_at,
            self._clocks,
            self._applied,
            self._facts,
        )

    @classmethod
    def from_bytes(cls, data: bytes, policies: PolicySet | None = None) -> ComplaintClocks:
        """Restore state; with `policies`, also check every clock and calendar still exists."""
        complaint_id, calendar_id, received_at, records, applied, facts = decode_state(data)
        restored = cls(complaint_id, calendar_id, received_at, records, applied, facts)
        if policies is not None:
            for record in records:
                restored._context(record, policies)
        return restored

    def copy(self) -> ComplaintClocks:
        return ComplaintClocks(
            self._complaint_id,
            self._calendar_id,
            self._received_at,
            self._clocks,
            self._applied,
            self._facts,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ComplaintClocks):
            return NotImplemented
        return (
            self._complaint_id,
            self._calendar_id,
            self._received_at,
            self._clocks,
            self._applied,
            self._facts,
        ) == (
            other._complaint_id,
            other._calendar_id,
            other._received_at,
            other._clocks,
            other._applied,
            other._facts,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        states = ", ".join(f"{r.clock_id}={r.state.name.lower()}" for r in self._clocks)
        return f"ComplaintClocks({self._complaint_id!r}, {self._calendar_id!r}, [{states}])"

    # --- internals ------------------------------------------------------------------------

    def _advance(self, now: int, policies: PolicySet) -> list[ClockEvent]:
        ordered: list[tuple[dt.datetime, int, int, ClockEvent]] = []
        for index, record in enumerate(self._clocks):
            if record.next_at is None or record.next_at > now:
                continue
            record, events = advance_to(self._context(record, policies), record, now)
            self._clocks[index] = record
            ordered.extend(
                (event.occurred_at, index, sequence, event) for sequence, event in enumerate(events)
            )
        self._wakeup = self._earliest_wakeup()
        ordered.sort(key=lambda item: item[:3])
        return [event for *_, event in ordered]

    def _earliest_wakeup(self) -> int | None:
        pending = [record.next_at for record in self._clocks if record.next_at is not None]
        return min(pending) if pending else None

    def _context(self, record: ClockRecord, policies: PolicySet) -> ClockContext:
        try:
            calendar = policies.calendar(self._calendar_id)
        except ComplaintFactsError as error:
            raise StateError(f"complaint {self._complaint_id}: {error}") from error
        definition = policies.clock(record.clock_id, record.policy_version)
        return ClockContext(self._complaint_id, definition, calendar)


def _apply(
    action: _Action, context: ClockContext, record: ClockRecord, at: int
) -> tuple[ClockRecord, Sequence[ClockEvent]]:
    if action is _Action.MEET:
        return stop(context, record, at, "met")
    if action is _Action.SUPERSEDE:
        return stop(context, record, at, "superseded")
    if action is _Action.CANCEL:
        return stop(context, record, at, "cancelled")
    if action is _Action.RESET:
        return reset_cycle(context, record, at)
    if action is _Action.PAUSE:
        return pause(context, record, at)
    if action is _Action.RESUME:
        return resume(context, record, at)
    if action is _Action.RESTART:
        return restart(context, record, at)
    return record, ()
