"""In-memory ports and small directories for router tests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from kintsugi.common.ids import Cause
from services.router.domain.desk import Decision
from services.router.domain.directory import Directory, Handler, Team
from services.router.domain.records import StoredCase
from services.router.domain.routing import RoutingRequest

SHIPPED_DIRECTORY = Path(__file__).resolve().parents[3] / "services" / "router" / "directory.yaml"


class InMemoryCases:
    """``CaseStore`` in a dict; ``saved`` lists every write, in order."""

    def __init__(self, cases: Iterable[StoredCase] = ()) -> None:
        self.by_complaint = {c.complaint_id: c for c in cases}
        self.saved: list[StoredCase] = []

    def get(self, complaint_id: str) -> StoredCase | None:
        return self.by_complaint.get(complaint_id)

    def all(self) -> Iterable[StoredCase]:
        return list(self.by_complaint.values())

    async def save(self, stored: StoredCase) -> None:
        self.saved.append(stored)
        self.by_complaint[stored.complaint_id] = stored


class AnnouncedDecisions:
    """``DecisionEvents`` that remembers each announcement, and can be told to fail."""

    def __init__(self) -> None:
        self.announced: list[tuple[Decision, Cause]] = []
        self.fail = False

    async def announce(self, decision: Decision, cause: Cause) -> None:
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.announced.append((decision, cause))


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
