"""Small directories and facts for Desk tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from services.router.domain.desk import Activity, ClockAlert
from services.router.domain.directory import Contact, Directory, Handler, Team
from services.router.domain.routing import RoutingRequest
from services.router.domain.working_hours import WorkingHours
from tests.unit.router.fakes import person

NOW = dt.datetime(2026, 3, 4, 10, 0, tzinfo=dt.UTC)  # a Wednesday
LONDON_OFFICE = WorkingHours(
    time_zone="Europe/London",
    days=frozenset(range(5)),
    start=dt.time(9, 0),
    end=dt.time(17, 0),
)
CHAIN = (
    Contact("lead", "Lee Lead", "team lead"),
    Contact("manager", "Mo Manager", "complaints manager"),
    Contact("exec", "Office of the Chief Executive", "executive office"),
)


def team_of(*members: Handler, chain: tuple[Contact, ...] = CHAIN) -> Directory:
    team = Team(
        id="care",
        name="Care",
        categories=("general", "fees"),
        handles_abuse=False,
        members=tuple(replace(m, team_id="care") for m in members),
        escalation_chain=chain,
    )
    return Directory(teams=(team,), default_team_id="care", executive_sample_percent=0)


def worker(handler_id: str, **changes: Any) -> Handler:
    base = person(handler_id, capacity=changes.pop("capacity", 3))
    return replace(base, working_hours=LONDON_OFFICE, **changes)


def complaint(number: int, **changes: Any) -> RoutingRequest:
    request = RoutingRequest(
        complaint_id=f"c{number}",
        customer_id=f"u{number}",
        category="general",
        severity="low",
        language="en",
        vulnerable=False,
        abusive=False,
    )
    return replace(request, **changes)


def warning(complaint_id: str, **changes: Any) -> ClockAlert:
    alert = ClockAlert(
        event_id=f"warn-{complaint_id}",
        complaint_id=complaint_id,
        clock_id="final_response",
        clock_kind="final_response",
        regulatory=False,
        cycle=0,
        threshold_percent=80,
        due_at=NOW + dt.timedelta(hours=2),
        at=NOW,
    )
    return replace(alert, **changes)


def message(complaint_id: str, n: int, channel: str = "email") -> Activity:
    return Activity(f"msg-{complaint_id}-{n}", complaint_id, channel, True, False)


def resolution(complaint_id: str) -> Activity:
    return Activity(f"resolved-{complaint_id}", complaint_id, "email", False, True)
