"""Assignment (the router's stored memory) and Workload (open complaints per person)."""

from __future__ import annotations

import json

from services.router.domain.assignment import Assignment, Workload
from services.router.domain.routing import Reason
from tests.unit.router.fakes import an_assignment


def test_an_assignment_survives_a_round_trip_through_bytes() -> None:
    assignment = an_assignment(
        reasons=(Reason("team.category", "Care handles 'fees'"), Reason("sample.executive", "x")),
        executive_review=True,
    )

    assert Assignment.from_bytes(assignment.to_bytes()) == assignment


def test_a_closed_assignment_stays_closed_after_a_round_trip() -> None:
    closed = an_assignment().closed()

    restored = Assignment.from_bytes(closed.to_bytes())

    assert restored.open is False
    assert restored == closed


def test_stored_bytes_carry_a_schema_version_for_future_migrations() -> None:
    assert json.loads(an_assignment().to_bytes())["v"] == 1


def test_workload_counts_open_complaints_per_handler() -> None:
    workload = Workload(
        [
            an_assignment(complaint_id="c1", handler_id="ann", customer_id="x"),
            an_assignment(complaint_id="c2", handler_id="ann", customer_id="y"),
            an_assignment(complaint_id="c3", handler_id="bob", customer_id="z"),
            an_assignment(complaint_id="c4", handler_id="bob", customer_id="w").closed(),
        ]
    )

    assert workload.open_by_handler == {"ann": 2, "bob": 1}
    owners = {c: workload.owner_of(c) for c in ("x", "y", "z", "w")}
    assert owners == {"x": "ann", "y": "ann", "z": "bob", "w": None}


def test_removing_an_open_assignment_frees_the_handler_and_forgets_the_owner() -> None:
    assignment = an_assignment(handler_id="ann", customer_id="x")
    workload = Workload([assignment])

    workload.remove(assignment)

    assert workload.open_by_handler["ann"] == 0
    assert workload.owner_of("x") is None


def test_removing_an_already_closed_assignment_does_not_count_twice() -> None:
    assignment = an_assignment(handler_id="ann")
    workload = Workload([assignment])

    workload.remove(assignment.closed())

    assert workload.open_by_handler["ann"] == 1


def test_a_complaint_without_a_customer_id_counts_but_has_no_owner_to_remember() -> None:
    workload = Workload([an_assignment(handler_id="ann", customer_id="")])

    assert workload.open_by_handler["ann"] == 1
    assert workload.owner_of("") is None
