"""Time to assign and queue wait: measured from classification, exported per team."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from prometheus_client import REGISTRY

from kintsugi.common.codec import Event
from kintsugi.common.ids import Cause
from services.router.adapters.kafka import PublishedDecisions
from services.router.domain.desk import Assigned, Desk
from services.router.domain.records import StoredCase
from tests.unit.router.desk_fixtures import NOW, complaint, resolution, team_of, worker


class _Published:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, *events: Event) -> None:
        self.events.extend(events)


def _assigned(decisions: list[object]) -> Assigned:
    [assigned] = [d for d in decisions if isinstance(d, Assigned)]
    return assigned


def test_a_direct_assignment_waited_from_classification_and_not_in_a_queue() -> None:
    desk = Desk(team_of(worker("ann")))

    decisions = desk.classified(complaint(1), "e1", NOW)

    assigned = _assigned(decisions)
    assert (assigned.waited_s, assigned.from_queue) == (0.0, False)


def test_time_to_assign_counts_from_when_the_classifier_decided() -> None:
    desk = Desk(team_of(worker("ann")))

    decisions = desk.classified(complaint(1), "e1", NOW, NOW - dt.timedelta(seconds=42))

    assert _assigned(decisions).waited_s == 42.0


def test_a_queued_complaint_reports_its_wait_when_capacity_frees() -> None:
    desk = Desk(team_of(worker("ann", capacity=1)))
    desk.classified(complaint(1), "e1", NOW)
    desk.classified(complaint(2), "e2", NOW + dt.timedelta(minutes=5))

    drained = desk.activity(resolution("c1"), NOW + dt.timedelta(minutes=35))

    assigned = _assigned(drained)
    assert assigned.complaint_id == "c2"
    assert (assigned.waited_s, assigned.from_queue) == (1800.0, True)


def test_a_case_saved_before_the_time_was_kept_reports_no_wait_rather_than_zero() -> None:
    desk = Desk(team_of(worker("ann", capacity=1)))
    desk.classified(complaint(1), "e1", NOW)
    desk.classified(complaint(2), "e2", NOW)
    body = json.loads(StoredCase(desk.cases["c2"]).to_bytes())
    del body["case"]["classified_at"]
    older = StoredCase.from_bytes(json.dumps(body).encode())
    assert older.case.classified_at is None

    restored = Desk(team_of(worker("ann", capacity=1)))
    restored.restore([desk.cases["c1"], older.case])
    assigned = _assigned(restored.activity(resolution("c1"), NOW + dt.timedelta(hours=1)))

    assert (assigned.waited_s, assigned.from_queue) == (None, True)


def _sample(name: str, team: str) -> float:
    return REGISTRY.get_sample_value(name, {"team": team}) or 0.0


async def test_announcing_a_first_owner_observes_time_to_assign_and_queue_wait_by_team() -> None:
    team = f"team-{uuid.uuid4().hex[:8]}"
    announcer = PublishedDecisions(_Published(), lambda: NOW)  # type: ignore[arg-type]

    def first_owner(waited_s: float | None, from_queue: bool) -> Assigned:
        return Assigned(
            "e", "c1", team, "T", "ann", "Ann", "initial", "", (), False, waited_s, from_queue
        )

    await announcer.announce(first_owner(2.0, False), Cause("x", "x"))
    await announcer.announce(first_owner(600.0, True), Cause("y", "y"))
    await announcer.announce(first_owner(None, True), Cause("z", "z"))

    assert _sample("kintsugi_router_time_to_assign_seconds_count", team) == 2
    assert _sample("kintsugi_router_time_to_assign_seconds_sum", team) == 602.0
    assert _sample("kintsugi_router_queue_wait_seconds_count", team) == 1
    assert _sample("kintsugi_router_queue_wait_seconds_sum", team) == 600.0
