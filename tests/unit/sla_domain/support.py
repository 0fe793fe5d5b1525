"""Shared helpers for the SLA domain tests."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar
from zoneinfo import ZoneInfo

from services.sla.domain import (
    ClockEvent,
    ClockStarted,
    ComplaintClocks,
    ComplaintFacts,
    PolicySet,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
MELBOURNE = ZoneInfo("Australia/Melbourne")

POLICIES = PolicySet.default()

EventT = TypeVar("EventT", bound=ClockEvent)


def london(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=LONDON)


def new_york(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def sydney(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SYDNEY)


def complaint(
    received_at: dt.datetime,
    *,
    regime: str = "uk-fca-disp",
    jurisdiction: str = "GB-ENG",
    severity: str = "medium",
    channel: str = "email",
    category: str = "service",
    complaint_id: str = "C-1",
) -> ComplaintFacts:
    return ComplaintFacts(
        complaint_id=complaint_id,
        regime=regime,
        jurisdiction=jurisdiction,
        severity=severity,
        channel=channel,
        category=category,
        received_at=received_at,
    )


def start(facts: ComplaintFacts) -> tuple[ComplaintClocks, list[ClockEvent]]:
    return ComplaintClocks.start(facts, POLICIES)


def due_times(facts: ComplaintFacts) -> dict[str, dt.datetime]:
    _, events = start(facts)
    return {event.clock_id: event.due_at for event in events if isinstance(event, ClockStarted)}


def of_type(events: list[ClockEvent], kind: type[EventT]) -> list[EventT]:
    return [event for event in events if isinstance(event, kind)]


def by_clock(events: list[ClockEvent], clock_id: str) -> list[ClockEvent]:
    return [event for event in events if event.clock_id == clock_id]
