"""In-memory ports and small directories for router tests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from kintsugi.common.ids import Cause
from services.router.domain.assignment import Assignment
from services.router.domain.directory import Directory, Handler, Team
from services.router.domain.routing import Reason, RoutingRequest

SHIPPED_DIRECTORY = Path(__file__).resolve().parents[3] / "services" / "router" / "directory.yaml"


class InMemoryAssignments:
    """``AssignmentStore`` in a dict; ``saved`` lists every write, in order."""

    def __init__(self, assignments: Iterable[Assignment] = ()) -> None:
        self.by_complaint = {a.complaint_id: a for a in assignments}
        self.saved: list[Assignment] = []

    def get(self, complaint_id: str) -> Assignment | None:
        return self.by_complaint.get(complaint_id)

    def all(self) -> Iterable[Assignment]:
        return list(self.by_complaint.values())

    async def save(self, assignment: Assignment) -> None:
        self.saved.append(assignment)
        self.by_complaint[assignment.complaint_id] = assignment


class AnnouncedAssignments:
    """``AssignmentEvents`` that remembers each announcement."""

    def __init__(self) -> None:
        self.announced: list[tuple[Assignment, Cause]] = []

    async def assigned(self, assignment: Assignment, cause: Cause) -> None:
        self.announced.append((assignment, cause))


def person(
    handler_id: str,
    *,
    team: str = "care",
    languages: tuple[str, ...] = ("en",),
    capacity: int = 10,
    trained: bool = False,
    max_severity: str = "critical",
) -> Handler:
    return Handler(
        id=handler_id,
        name=handler_id.replace(".", " ").title(),
        team_id=team,
        languages=languages,
        capacity=capacity,
        vulnerability_trained=trained,
        max_severity=max_severity,
    )


def one_team(*members: Handler, sample_percent: float = 0.0) -> Directory:
    """A directory with a single team "care" owning every category we use in tests."""
    team = Team(
        id="care",
        name="Care",
        categories=("general", "fees", "fraud"),
        handles_abuse=False,
        members=tuple(replace(m, team_id="care") for m in members),
    )
    return Directory(teams=(team,), default_team_id="care", executive_sample_percent=sample_percent)


def a_request(**changes: Any) -> RoutingRequest:
    request = RoutingRequest(
        complaint_id="complaint-1",
        customer_id="cust-1",
        category="general",
        severity="low",
        language="en",
        vulnerable=False,
        abusive=False,
    )
    return replace(request, **changes)


def an_assignment(**changes: Any) -> Assignment:
    assignment = Assignment(
        complaint_id="complaint-1",
        customer_id="cust-1",
        team_id="care",
        team_name="Care",
        handler_id="ann",
        handler_name="Ann",
        reasons=(Reason("team.category", "Care handles 'general'"),),
        executive_review=False,
        event_id="event-1",
    )
    return replace(assignment, **changes)
