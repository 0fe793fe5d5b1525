"""Why a clock reads what it reads: a plain, JSON-ready account of one clock at an instant."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, fields
from typing import TypeAlias
from zoneinfo import ZoneInfo

from services.sla.domain.clock import (
    ClockContext,
    ClockRecord,
    ClockState,
    Due,
    due_local_date,
    schedule,
)
from services.sla.domain.definitions import ClockKind, OnExpiry
from services.sla.domain.instants import from_epoch
from services.sla.domain.rules import DurationUnit, Measure

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None

_NEXT_EVENT_NAMES = {
    Due.WARNING: "warning",
    Due.CUSTOMER_UPDATE: "customer_update_due",
    Due.DEADLINE: "breach",
}


@dataclass(frozen=True, slots=True)
class SkippedDay:
    """A working weekday inside the clock's window that did not count, and why."""

    day: dt.date
    name: str
    reason: str  # "public_holiday" | "closure"


@dataclass(frozen=True, slots=True)
class ClockExplanation:
    complaint_id: str
    clock_id: str
    clock_title: str
    clock_kind: ClockKind
    policy_id: str
    policy_title: str
    policy_version: int
    regulatory: bool
    pausable: bool
    basis: str
    rule: str
    calendar_id: str
    time_zone: str
    as_of: dt.datetime
    state: str
    cycle: int
    received_at: dt.datetime
    started_at: dt.datetime
    due_at: dt.datetime
    # A date-only deadline's local day ("end of 2026-12-18"); None for a time of day.
    due_local_date: dt.date | None
    due_reading: str  # the deadline as a person should read it, in the calendar's zone
    ended_at: dt.datetime | None
    measure: str
    allowed_seconds: int
    used_seconds: int
    remaining_seconds: int
    percent_used: float
    elapsed_seconds: int
    elapsed_business_seconds: int
    outside_working_seconds: int
    paused_seconds: int
    paused_since: dt.datetime | None
    warning_thresholds: tuple[int, ...]
    last_warning_percent: int | None
    next_threshold_percent: int | None
    next_threshold_at: dt.datetime | None
    customer_update_at: dt.datetime | None
    next_event: str | None
    next_event_at: dt.datetime | None
    skipped_days: tuple[SkippedDay, ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, JsonValue]:
        """JSON-ready: instants as ISO 8601 in the calendar's local time, durations in seconds."""
        zone = ZoneInfo(self.time_zone)
        return {field.name: _json(getattr(self, field.name), zone) for field in fields(self)}


def explain_clock(
    context: ClockContext, record: ClockRecord, now: int, received_at: int
) -> ClockExplanation:
    definition = context.definition
    calendar = context.calendar
    finished = record.state not in (ClockState.RUNNING, ClockState.PAUSED, ClockState.OVERDUE)
    horizon = record.ended_at if finished and record.ended_at is not None else now
    horizon = max(horizon, record.started_at)
    elapsed = horizon - record.started_at
    elapsed_business = calendar.business_seconds_between(record.started_at, horizon)
    used = context.used(record, now)
    paused = record.paused_seconds
    if record.state is ClockState.PAUSED and record.paused_at is not None:
        paused += max(0, now - record.paused_at)
    upcoming = schedule(context, record)
    warnings = [item for item in upcoming if item.what is Due.WARNING]
    updates = [item for item in upcoming if item.what is Due.CUSTOMER_UPDATE]
    next_item = upcoming[0] if upcoming else None
    due_day = due_local_date(context, record.due_at)
    return ClockExplanation(
        complaint_id=context.complaint_id,
        clock_id=record.clock_id,
        clock_title=definition.title,
        clock_kind=definition.kind,
        policy_id=definition.policy_id,
        policy_title=definition.policy_title,
        policy_version=definition.policy_version,
        regulatory=definition.regulatory,
        pausable=definition.pausable,
        basis=definition.basis,
        rule=definition.due.describe(),
        calendar_id=calendar.calendar_id,
        time_zone=calendar.time_zone,
        as_of=from_epoch(now),
        state=record.state.name.lower(),
        cycle=record.cycle,
        received_at=from_epoch(received_at),
        started_at=from_epoch(record.started_at),
        due_at=from_epoch(record.due_at),
        due_local_date=due_day,
        due_reading=_due_reading(context, record.due_at, due_day),
        ended_at=None if record.ended_at is None else from_epoch(record.ended_at),
        measure=context.measure.value,
        allowed_seconds=record.budget,
        used_seconds=used,
        remaining_seconds=record.budget - used,
        percent_used=round(100 * used / record.budget, 1) if record.budget else 100.0,
        elapsed_seconds=elapsed,
        elapsed_business_seconds=elapsed_business,
        outside_working_seconds=elapsed - elapsed_business,
        paused_seconds=paused,
        paused_since=(
            from_epoch(record.paused_at)
            if record.state is ClockState.PAUSED and record.paused_at is not None
            else None
        ),
        warning_thresholds=definition.warnings,
        last_warning_percent=record.warned_percent or None,
        next_threshold_percent=warnings[0].percent if warnings else None,
        next_threshold_at=from_epoch(warnings[0].at) if warnings else None,
        customer_update_at=from_epoch(updates[0].at) if updates else None,
        next_event=_event_name(context, next_item.what) if next_item else None,
        next_event_at=from_epoch(next_item.at) if next_item else None,
        skipped_days=_skipped_days(context, record),
        notes=tuple(_notes(context, record)),
    )


def _due_reading(context: ClockContext, due_at: int, due_day: dt.date | None) -> str:
    zone = context.calendar.time_zone
    if due_day is not None:
        return f"end of {due_day.isoformat()} ({zone})"
    return f"{_local(context, due_at)} ({zone})"


def _event_name(context: ClockContext, what: Due) -> str:
    if what is Due.DEADLINE and context.definition.on_expiry is OnExpiry.LAPSE:
        return "lapse"
    return _NEXT_EVENT_NAMES[what]


def _counts_business_days(context: ClockContext) -> bool:
    return any(
        part.unit in (DurationUnit.BUSINESS_DAYS, DurationUnit.BUSINESS_HOURS)
        for part in context.definition.due.parts
    )


def _skipped_days(context: ClockContext, record: ClockRecord) -> tuple[SkippedDay, ...]:
    if not _counts_business_days(context):
        return ()
    calendar = context.calendar
    first = calendar.local_date(record.started_at)
    last = calendar.local_date(record.due_at)
    return tuple(
        SkippedDay(closed.day, closed.name, closed.reason)
        for closed in calendar.closed_days_between(first, last)
    )


def _notes(context: ClockContext, record: ClockRecord) -> list[str]:
    calendar = context.calendar
    notes: list[str] = []
    if record.cycle:
        notes.append(f"cycle {record.cycle}: this run started {_local(context, record.started_at)}")
    if context.measure is Measure.BUSINESS:
        first_working = calendar.add_business_seconds(record.started_at, 1) - 1
        if first_working > record.started_at:
            notes.append(
                "started outside working hours; working time counts from "
                f"{_local(context, first_working)}"
            )
    if any(part.unit is DurationUnit.CALENDAR_DAYS for part in context.definition.due.parts):
        notes.append("calendar days: weekends and public holidays count towards the deadline")
        due_day = calendar.local_date(record.due_at - 1)
        closed = calendar.closed_day(due_day)
        if closed is not None:
            notes.append(
                f"the deadline falls on {due_day.isoformat()}, {closed.name}; "
                "calendar-day deadlines do not move to the next business day"
            )
        elif not calendar.is_business_day(due_day):
            notes.append(
                f"the deadline falls on a non-working day ({due_day.strftime('%A')}); "
                "calendar-day deadlines do not move to the next business day"
            )
    if context.definition.regulatory:
        notes.append("regulatory clock: it never pauses")
    return notes


def _local(context: ClockContext, instant: int) -> str:
    return from_epoch(instant).astimezone(context.calendar.zone).isoformat()


def _json(value: object, zone: dt.tzinfo) -> JsonValue:
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _json(value.value, zone)
    if isinstance(value, SkippedDay):
        return {"date": value.day.isoformat(), "name": value.name, "reason": value.reason}
    if isinstance(value, tuple | list):
        return [_json(item, zone) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot express {type(value).__name__} as JSON")
