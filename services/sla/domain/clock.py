"""One clock as a small state machine over integer instants.

    RUNNING <-> PAUSED            (pausable clocks only)
    RUNNING  -> BREACHED          at the due instant (LAPSED for windows that merely close)
    RUNNING  -> OVERDUE           a cadence cycle passed its due; the next update resets it
    open     -> MET | SUPERSEDED | CANCELLED
    finished -> RUNNING           restart on reopen (a new cycle)
    BREACHED -> MET               only for a milestone that happened before the due instant
                                  but was reported after a tick had already seen the breach

Time used is counted in the clock's measure: working seconds for business-day and
business-hour clocks, elapsed seconds otherwise. `consumed` is the time used before
`anchor_at` (the start, or the last resume), so "used at t" is `consumed + measure(anchor, t)`
while running. A pause pushes the due instant back by the time paused, in the same measure,
so a pause never brings a deadline forward.

A warning fires when the time used reaches a threshold percentage of the cycle's allowed
time (`budget`); the customer update falls due the policy's lead time before the due
instant. Each scheduled transition is emitted once per cycle, with `occurred_at` set to the
instant it was scheduled for, however late the tick that notices it.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any, NamedTuple

from services.sla.domain.business_calendar import BusinessCalendar
from services.sla.domain.definitions import ClockDefinition, OnExpiry, OnReopen
from services.sla.domain.events import (
    ClockBreached,
    ClockEvent,
    ClockPaused,
    ClockReset,
    ClockRestarted,
    ClockResumed,
    ClockStarted,
    ClockStopped,
    ClockWarning,
    CustomerUpdateDue,
    StopOutcome,
    event_id,
)
from services.sla.domain.instants import from_epoch
from services.sla.domain.rules import Measure, advance, measure_between


class ClockState(enum.IntEnum):
    RUNNING = 0
    PAUSED = 1
    MET = 2
    BREACHED = 3
    OVERDUE = 4
    CANCELLED = 5
    SUPERSEDED = 6
    LAPSED = 7


OPEN_STATES = frozenset({ClockState.RUNNING, ClockState.PAUSED, ClockState.OVERDUE})
FINISHED_STATES = frozenset(ClockState) - OPEN_STATES
_STOPPED_STATE: dict[StopOutcome, ClockState] = {
    "met": ClockState.MET,
    "cancelled": ClockState.CANCELLED,
    "superseded": ClockState.SUPERSEDED,
    "lapsed": ClockState.LAPSED,
}


class ClockRecord(NamedTuple):
    """The serialisable state of one clock; instants are epoch seconds."""

    clock_id: str
    state: ClockState
    cycle: int
    started_at: int
    due_at: int
    budget: int  # allowed time of this cycle, in the clock's measure
    next_at: int | None  # earliest scheduled transition, while running
    anchor_at: int
    consumed: int = 0
    warned_percent: int = 0
    update_sent: bool = False
    ended_at: int | None = None
    paused_at: int | None = None
    paused_seconds: int = 0  # elapsed seconds paused in this cycle, closed pauses only
    pauses: int = 0
    policy_version: int = 1  # the version of its policy the clock started under (pinned)


@dataclass(frozen=True, slots=True)
class ClockContext:
    """What a transition needs besides the record: the definition and the calendar."""

    complaint_id: str
    definition: ClockDefinition
    calendar: BusinessCalendar

    @property
    def measure(self) -> Measure:
        return self.definition.due.measure

    def used(self, record: ClockRecord, at: int) -> int:
        if record.state is ClockState.RUNNING and at > record.anchor_at:
            return record.consumed + self.between(record.anchor_at, at)
        return record.consumed

    def between(self, start: int, end: int) -> int:
        return measure_between(self.measure, self.calendar, start, end)


class Due(enum.IntEnum):
    """What is scheduled; the order breaks ties at the same instant."""

    WARNING = 0
    CUSTOMER_UPDATE = 1
    DEADLINE = 2


class Scheduled(NamedTuple):
    at: int
    what: Due
    percent: int


def open_clock(context: ClockContext, at: int, cycle: int) -> ClockRecord:
    due = context.definition.due.deadline_from(at, context.calendar)
    record = ClockRecord(
        clock_id=context.definition.clock_id,
        state=ClockState.RUNNING,
        cycle=cycle,
        started_at=at,
        due_at=due,
        budget=context.between(at, due),
        next_at=None,
        anchor_at=at,
        policy_version=context.definition.policy_version,
    )
    return _with_next(context, record)


def started_event(context: ClockContext, record: ClockRecord) -> ClockStarted:
    return ClockStarted(
        **_common(context, record, "started", str(record.cycle), record.started_at),
        started_at=from_epoch(record.started_at),
        due_at=from_epoch(record.due_at),
        pausable=context.definition.pausable,
    )


def schedule(context: ClockContext, record: ClockRecord) -> list[Scheduled]:
    """The next transition of each sort still to come in this cycle, earliest first.

    Only the lowest pending warning is listed: a higher threshold can never come sooner.
    Empty unless the clock is running.
    """
    if record.state is not ClockState.RUNNING:
        return []
    items: list[Scheduled] = []
    warnings = context.definition.warnings
    pending = next((percent for percent in warnings if percent > record.warned_percent), None)
    if pending is not None and record.budget > 0:
        items.append(Scheduled(_threshold_at(context, record, pending), Due.WARNING, pending))
    lead = context.definition.customer_update_lead
    if lead is not None and not record.update_sent:
        point = lead.before(record.due_at, context.calendar)
        if point > record.started_at:
            items.append(Scheduled(min(point, record.due_at), Due.CUSTOMER_UPDATE, 0))
    items.append(Scheduled(record.due_at, Due.DEADLINE, 0))
    items.sort()
    return items


def advance_to(
    context: ClockContext, record: ClockRecord, now: int
) -> tuple[ClockRecord, list[ClockEvent]]:
    """Emit every scheduled transition at or before `now` not emitted yet."""
    if record.next_at is None or record.next_at > now:
        return record, []
    events: list[ClockEvent] = []
    while upcoming := schedule(context, record):
        item = upcoming[0]
        if item.at > now:
            return record._replace(next_at=item.at), events
        due_at = from_epoch(record.due_at)
        if item.what is Due.WARNING:
            record = record._replace(warned_percent=item.percent)
            discriminator = f"{record.cycle}:{item.percent}"
            common = _common(context, record, "warning", discriminator, item.at)
            events.append(ClockWarning(**common, threshold_percent=item.percent, due_at=due_at))
        elif item.what is Due.CUSTOMER_UPDATE:
            record = record._replace(update_sent=True)
            common = _common(context, record, "customer_update_due", str(record.cycle), item.at)
            events.append(CustomerUpdateDue(**common, due_at=due_at, update_by=from_epoch(item.at)))
        else:
            record, expired = _expire(context, record)
            events.append(expired)
    return record._replace(next_at=None), events


def pause(
    context: ClockContext, record: ClockRecord, at: int
) -> tuple[ClockRecord, list[ClockEvent]]:
    if record.state is not ClockState.RUNNING or not context.definition.pausable:
        return record, []
    at = max(at, record.anchor_at)
    record = record._replace(
        state=ClockState.PAUSED,
        consumed=context.used(record, at),
        anchor_at=at,
        paused_at=at,
        pauses=record.pauses + 1,
        next_at=None,
    )
    discriminator = f"{record.cycle}:{record.pauses}"
    return record, [ClockPaused(**_common(context, record, "paused", discriminator, at))]


def resume(
    context: ClockContext, record: ClockRecord, at: int
) -> tuple[ClockRecord, list[ClockEvent]]:
    if record.state is not ClockState.PAUSED or record.paused_at is None:
        return record, []
    at = max(at, record.paused_at)
    paused = context.between(record.paused_at, at)
    record = record._replace(
        state=ClockState.RUNNING,
        due_at=advance(context.measure, context.calendar, record.due_at, paused),
        anchor_at=at,
        paused_at=None,
        paused_seconds=record.paused_seconds + at - record.paused_at,
    )
    record = _with_next(context, record)
    discriminator = f"{record.cycle}:{record.pauses}"
    event = ClockResumed(
        **_common(context, record, "resumed", discriminator, at), due_at=from_epoch(record.due_at)
    )
    return record, [event]


def stop(
    context: ClockContext, record: ClockRecord, at: int, outcome: StopOutcome
) -> tuple[ClockRecord, list[ClockEvent]]:
    state = record.state
    consumed = record.consumed
    paused_seconds = record.paused_seconds
    if state is ClockState.RUNNING:
        end = max(at, record.anchor_at)
        consumed = context.used(record, end)
    elif state is ClockState.PAUSED and record.paused_at is not None:
        end = max(at, record.paused_at)
        paused_seconds += end - record.paused_at
    elif state is ClockState.OVERDUE:
        end = max(at, record.anchor_at)
    elif state is ClockState.BREACHED and outcome == "met" and at < record.due_at:
        # A response that happened in time but was reported after a tick saw the breach.
        end = max(at, record.started_at)
        consumed = max(0, consumed - context.between(end, record.due_at))
    else:
        return record, []
    record = record._replace(
        state=_STOPPED_STATE[outcome],
        consumed=consumed,
        anchor_at=end,
        ended_at=end,
        paused_at=None,
        paused_seconds=paused_seconds,
        next_at=None,
    )
    event = ClockStopped(
        **_common(context, record, "stopped", str(record.cycle), end),
        outcome=outcome,
        due_at=from_epoch(record.due_at),
    )
    return record, [event]


def reset_cycle(
    context: ClockContext, record: ClockRecord, at: int
) -> tuple[ClockRecord, list[ClockEvent]]:
    """Start a new cadence cycle from `at`; a paused cadence stays paused."""
    if record.state not in OPEN_STATES:
        return record, []
    fresh = open_clock(context, max(at, record.started_at), record.cycle + 1)
    if record.state is ClockState.PAUSED:
        # The pause carries into the new cycle as its pause number 1.
        fresh = fresh._replace(
            state=ClockState.PAUSED, paused_at=fresh.started_at, pauses=1, next_at=None
        )
    event = ClockReset(
        **_common(context, fresh, "reset", str(fresh.cycle), fresh.started_at),
        due_at=from_epoch(fresh.due_at),
    )
    return fresh, [event]


def restart(
    context: ClockContext, record: ClockRecord, at: int
) -> tuple[ClockRecord, list[ClockEvent]]:
    if record.state not in FINISHED_STATES or context.definition.on_reopen is OnReopen.KEEP:
        return record, []
    start = max(at, record.ended_at if record.ended_at is not None else record.started_at)
    record = open_clock(context, start, record.cycle + 1)
    event = ClockRestarted(
        **_common(context, record, "restarted", str(record.cycle), start),
        due_at=from_epoch(record.due_at),
    )
    return record, [event]


def replan(old: ClockContext, new: ClockContext, record: ClockRecord) -> ClockRecord:
    """The running or paused `record`, planned again under `new` (a later version of its
    definition) from the same start: the new rule's deadline, pushed back by the time the
    clock was paused under the old one; time used and warnings already sent are kept.
    Clocks in any other state keep the version they ran under (a breach stays a breach)."""
    if record.state not in (ClockState.RUNNING, ClockState.PAUSED):
        return record
    start = record.started_at
    old_planned = old.definition.due.deadline_from(start, old.calendar)
    paused = old.between(old_planned, record.due_at)  # how far pauses pushed the deadline
    planned = new.definition.due.deadline_from(start, new.calendar)
    replanned = record._replace(
        due_at=advance(new.measure, new.calendar, planned, paused),
        budget=new.between(start, planned),
        policy_version=new.definition.policy_version,
    )
    if replanned.state is ClockState.PAUSED:
        return replanned
    return _with_next(new, replanned._replace(next_at=None))


def _expire(context: ClockContext, record: ClockRecord) -> tuple[ClockRecord, ClockEvent]:
    due = record.due_at
    consumed = context.used(record, due)
    if context.definition.on_expiry is OnExpiry.LAPSE:
        record = record._replace(
            state=ClockState.LAPSED, consumed=consumed, anchor_at=due, ended_at=due
        )
        common = _common(context, record, "stopped", str(record.cycle), due)
        return record, ClockStopped(**common, outcome="lapsed", due_at=from_epoch(due))
    state = ClockState.OVERDUE if context.definition.is_cadence else ClockState.BREACHED
    record = record._replace(state=state, consumed=consumed, anchor_at=due, ended_at=due)
    common = _common(context, record, "breached", str(record.cycle), due)
    return record, ClockBreached(**common, due_at=from_epoch(due))


def _threshold_at(context: ClockContext, record: ClockRecord, percent: int) -> int:
    remaining = record.budget * percent // 100 - record.consumed
    if remaining <= 0:
        return record.anchor_at
    return min(
        advance(context.measure, context.calendar, record.anchor_at, remaining), record.due_at
    )


def _with_next(context: ClockContext, record: ClockRecord) -> ClockRecord:
    upcoming = schedule(context, record)
    return record._replace(next_at=upcoming[0].at if upcoming else None)


def due_local_date(context: ClockContext, due_at: int) -> dt.date | None:
    """The local day a date-only deadline ends with ("end of 18 December"), or None when
    the deadline is a time of day (or a pause moved it off midnight)."""
    if not context.definition.due.is_date_only:
        return None
    day = context.calendar.local_date(due_at - 1)
    return day if context.calendar.end_of_day(day) == due_at else None


def _common(
    context: ClockContext, record: ClockRecord, transition: str, discriminator: str, at: int
) -> dict[str, Any]:
    definition = context.definition
    return {
        "policy_version": definition.policy_version,
        "due_local_date": due_local_date(context, record.due_at),
        "event_id": event_id(context.complaint_id, record.clock_id, transition, discriminator),
        "complaint_id": context.complaint_id,
        "clock_id": record.clock_id,
        "policy_id": definition.policy_id,
        "clock_kind": definition.kind,
        "regulatory": definition.regulatory,
        "cycle": record.cycle,
        "occurred_at": from_epoch(at),
    }
