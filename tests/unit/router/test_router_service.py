"""Router.assign / release: idempotent assignment, saved before announced, workload kept."""

from __future__ import annotations

import pytest

from kintsugi.common.ids import Cause, derived_id
from services.router.service import Router
from tests.unit.router.fakes import (
    AnnouncedAssignments,
    InMemoryAssignments,
    a_request,
    an_assignment,
    one_team,
    person,
)

CAUSE = Cause(event_id="classified-1", correlation_id="received-1")


@pytest.fixture
def store() -> InMemoryAssignments:
    return InMemoryAssignments()


@pytest.fixture
def events() -> AnnouncedAssignments:
    return AnnouncedAssignments()


@pytest.fixture
def router(store: InMemoryAssignments, events: AnnouncedAssignments) -> Router:
    return Router(one_team(person("ann"), person("bob")), store, events)


async def test_a_new_complaint_is_assigned_saved_and_announced(
    router: Router, store: InMemoryAssignments, events: AnnouncedAssignments
) -> None:
    assignment = await router.assign(a_request(), CAUSE)

    assert (assignment.team_id, assignment.team_name) == ("care", "Care")
    assert (assignment.handler_id, assignment.handler_name) == ("ann", "Ann")
    assert assignment.open is True
    assert store.get("complaint-1") == assignment
    assert events.announced == [(assignment, CAUSE)]
    assert router.workload.open_by_handler["ann"] == 1


async def test_the_announcement_id_is_derived_from_the_event_that_caused_it(
    router: Router,
) -> None:
    assignment = await router.assign(a_request(), CAUSE)

    assert assignment.event_id == derived_id("classified-1", "assigned")


async def test_a_redelivered_complaint_gets_the_stored_decision_re_announced_with_the_same_id(
    router: Router, store: InMemoryAssignments, events: AnnouncedAssignments
) -> None:
    first = await router.assign(a_request(), CAUSE)
    again = await router.assign(a_request(), CAUSE)

    assert again == first
    assert [a.event_id for a, _ in events.announced] == [first.event_id, first.event_id]
    assert len(store.saved) == 1
    assert router.workload.open_by_handler == {"ann": 1}


async def test_a_redelivery_after_a_restart_repeats_the_decision_even_if_loads_changed(
    store: InMemoryAssignments, events: AnnouncedAssignments
) -> None:
    directory = one_team(person("ann"), person("bob"))
    first = await Router(directory, store, events).assign(a_request(), CAUSE)
    # Meanwhile Ann filled up; a fresh decision would pick Bob.
    for i in range(5):
        await store.save(
            an_assignment(complaint_id=f"other-{i}", customer_id=f"other-{i}", handler_id="ann")
        )

    again = await Router(directory, store, events).assign(a_request(), CAUSE)

    assert again == first
    assert again.handler_id == "ann"


async def test_the_workload_is_rebuilt_from_the_store_on_start(
    store: InMemoryAssignments, events: AnnouncedAssignments
) -> None:
    await store.save(an_assignment(complaint_id="c1", handler_id="ann"))
    await store.save(an_assignment(complaint_id="c2", handler_id="ann").closed())

    router = Router(one_team(person("ann"), person("bob")), store, events)

    assert router.workload.open_by_handler == {"ann": 1}
    assert (
        await router.assign(a_request(complaint_id="c3", customer_id="new"), CAUSE)
    ).handler_id == ("bob")


async def test_complaints_spread_across_the_team_as_load_grows(router: Router) -> None:
    handlers = [
        (
            await router.assign(a_request(complaint_id=f"c{i}", customer_id=f"u{i}"), CAUSE)
        ).handler_id
        for i in range(4)
    ]

    assert handlers == ["ann", "bob", "ann", "bob"]


async def test_a_second_complaint_from_the_same_customer_goes_to_the_same_owner(
    router: Router,
) -> None:
    first = await router.assign(a_request(complaint_id="c1"), CAUSE)
    second = await router.assign(a_request(complaint_id="c2"), CAUSE)

    assert second.handler_id == first.handler_id
    assert any(r.code == "handler.repeat_contact" for r in second.reasons)


async def test_releasing_a_complaint_closes_it_and_frees_the_handler(
    router: Router, store: InMemoryAssignments
) -> None:
    await router.assign(a_request(), CAUSE)

    await router.release("complaint-1")

    stored = store.get("complaint-1")
    assert stored is not None and stored.open is False
    assert router.workload.open_by_handler["ann"] == 0


async def test_releasing_twice_frees_the_handler_only_once(
    router: Router, store: InMemoryAssignments
) -> None:
    await router.assign(a_request(complaint_id="c1", customer_id="u1"), CAUSE)
    await router.assign(a_request(complaint_id="c2", customer_id="u2"), CAUSE)
    await router.assign(a_request(complaint_id="c3", customer_id="u3"), CAUSE)  # ann again

    await router.release("c1")
    await router.release("c1")

    assert router.workload.open_by_handler["ann"] == 1
    assert len([a for a in store.saved if a.complaint_id == "c1"]) == 2  # opened, closed


async def test_releasing_an_unknown_complaint_does_nothing(
    router: Router, store: InMemoryAssignments
) -> None:
    await router.release("never-assigned")

    assert store.saved == []


async def test_reload_workload_picks_up_assignments_the_store_gained(
    router: Router, store: InMemoryAssignments
) -> None:
    await store.save(an_assignment(complaint_id="moved-in", handler_id="bob"))

    router.reload_workload()

    assert router.workload.open_by_handler["bob"] == 1


async def test_load_by_handler_lists_every_person_including_the_idle(router: Router) -> None:
    await router.assign(a_request(), CAUSE)

    assert [(h.id, n) for h, n in router.load_by_handler()] == [("ann", 1), ("bob", 0)]


async def test_closing_one_of_two_complaints_keeps_the_customer_with_the_same_owner(
    router: Router,
) -> None:
    first = await router.assign(a_request(complaint_id="c1"), CAUSE)
    await router.assign(a_request(complaint_id="c2"), CAUSE)  # repeat contact: same owner
    await router.release("c1")  # c2 is still open with that owner

    third = await router.assign(a_request(complaint_id="c3"), CAUSE)

    assert third.handler_id == first.handler_id
