"""Desk properties over random directories and random sequences of facts (hypothesis)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kintsugi.common.names import SEVERITIES
from services.router.domain.desk import Activity, Assigned, Desk, Escalated, Queued
from services.router.domain.directory import Directory, Handler
from services.router.domain.routing import unmet_requirements
from tests.unit.router.desk_fixtures import NOW, complaint, team_of, warning, worker

LANGUAGES = ("en", "fr", "cy")
PRODUCTS = ("loan", "card")


@st.composite
def people(draw: st.DrawFn) -> Handler:
    return worker(
        f"p{draw(st.integers(0, 5))}",
        capacity=draw(st.integers(1, 6)),
        languages=tuple(draw(st.sets(st.sampled_from(LANGUAGES), min_size=1))),
        vulnerability_trained=draw(st.booleans()),
        max_severity=draw(st.sampled_from(SEVERITIES)),
        products=tuple(draw(st.sets(st.sampled_from(PRODUCTS)))),
        presence=draw(st.sampled_from(("online", "online", "away", "offline"))),
    )


directories = st.lists(people(), min_size=1, max_size=4, unique_by=lambda h: h.id).map(
    lambda members: team_of(*members)
)

new_complaints = st.builds(
    lambda n, customer, severity, language, vulnerable, product: (
        "classify",
        complaint(
            n,
            customer_id=f"u{customer}",
            severity=severity,
            language=language,
            vulnerable=vulnerable,
            product=product,
        ),
    ),
    st.integers(0, 7),
    st.integers(0, 5),
    st.sampled_from(SEVERITIES),
    st.sampled_from(LANGUAGES),
    st.booleans(),
    st.sampled_from(("", *PRODUCTS)),
)
facts = st.one_of(
    new_complaints,
    st.tuples(st.just("resolve"), st.integers(0, 7)),
    st.tuples(st.just("message"), st.integers(0, 7), st.integers(0, 3)),
    st.tuples(
        st.just("alert"),
        st.integers(0, 7),
        st.sampled_from(("final", "ack")),
        st.sampled_from((50, 80, 100)),
        st.booleans(),
        st.integers(0, 3),  # a redelivery under another id still names the same clock
    ),
    st.tuples(
        st.just("presence"),
        st.integers(0, 5),
        st.sampled_from(("online", "away", "offline")),
        st.integers(0, 3),
    ),
    st.tuples(st.just("tick"), st.integers(0, 600)),
    st.just(("again",)),  # the previous fact redelivered (an alert under a new id)
)


def apply(desk: Desk, fact: tuple[object, ...], step: int, now: dt.datetime) -> list[object]:
    match fact:
        case ("classify", request):
            return list(desk.classified(request, f"classified-{request.complaint_id}", now))  # type: ignore[arg-type]
        case ("resolve", n):
            return list(desk.activity(Activity(f"r{n}", f"c{n}", "email", False, True), now))
        case ("message", n, copy):
            return list(
                desk.activity(Activity(f"m{n}-{step % 4}", f"c{n}", "email", True, False), now)
            )
        case ("alert", n, clock, threshold, regulatory, copy):
            alert = warning(
                f"c{n}",
                event_id=f"alert-{n}-{clock}-{threshold}-{copy}",
                clock_id=clock,
                threshold_percent=threshold,
                regulatory=regulatory,
                at=now,
            )
            return list(desk.clock_alert(alert))
        case ("presence", n, presence, extra):
            handler_id = f"p{n}"
            # Capacity only grows here: a cut may leave someone above it until work closes.
            raised = desk.capacity(handler_id) + int(extra) if handler_id in desk.people else None  # type: ignore[call-overload]
            decisions = desk.presence_changed(handler_id, presence, raised or None, f"p{step}", now)  # type: ignore[arg-type]
            return list(decisions)
        case ("tick", _):
            return list(desk.sweep(now, f"tick-{step}"))
    raise AssertionError(fact)


def fits(
    desk: Desk, directory: Directory, handler: Handler, case_id: str, now: dt.datetime
) -> bool:
    case = desk.cases[case_id]
    team = directory.team(case.team_id)
    return (
        not unmet_requirements(handler, case.request, team)
        and not desk.absent(handler, now)
        and desk.load.get(handler.id, 0) + case.weight <= desk.capacity(handler.id)
    )


@settings(max_examples=500, deadline=None)
@given(directories, st.lists(facts, max_size=60))
# A repeat contact while others have more room: the owner keeps the customer.
@example(
    team_of(worker("p1", capacity=5), worker("p2", capacity=5)),
    [("classify", complaint(1, customer_id="u1")), ("classify", complaint(2, customer_id="u1"))],
)
# Two queued complaints drained by one capacity rise: oldest first.
@example(
    team_of(worker("p1", capacity=1)),
    [
        ("classify", complaint(1, customer_id="u1")),
        ("classify", complaint(2, customer_id="u2")),
        ("classify", complaint(3, customer_id="u3")),
        ("presence", 1, "online", 2),
    ],
)
# Queued while the one free person was offline past the grace; at 17:00 their working day
# ends, absence stops counting, and the next sweep gives them the complaint.
@example(
    team_of(worker("p0", capacity=1), worker("p1", capacity=1)),
    [
        ("presence", 0, "offline", 0),
        ("classify", complaint(0, customer_id="u0")),
        ("tick", 235),
        ("classify", complaint(1, customer_id="u0")),
        ("tick", 185),
    ],
)
# An alert redelivered under a new event id.
@example(
    team_of(worker("p1")),
    [("classify", complaint(1)), ("alert", 1, "final", 80, True, 0), ("again",)],
)
def test_the_desk_keeps_its_promises(
    directory: Directory, sequence: list[tuple[object, ...]]
) -> None:
    desk = Desk(directory)
    escalations: Counter[tuple[str, str, int]] = Counter()
    now = NOW
    previous: tuple[object, ...] = ("tick", 0)
    for step, drawn in enumerate(sequence):
        fact = drawn
        if fact[0] == "again":
            fact = previous
            if fact[0] == "alert":
                fact = (*fact[:5], int(fact[5]) + 1)  # type: ignore[call-overload]
        previous = fact
        if fact[0] == "tick":
            now += dt.timedelta(minutes=fact[1])  # type: ignore[operator]
        owners_before = {c: desk.owner_of(f"u{c}") for c in range(6)}
        decisions = apply(desk, fact, step, now)

        for decision in decisions:
            if isinstance(decision, Assigned):
                case = desk.cases[decision.complaint_id]
                team = directory.team(case.team_id)
                # Never an assignee without every required skill and clearance.
                assert not unmet_requirements(
                    directory.handler(decision.handler_id), case.request, team
                )  # type: ignore[arg-type]
        # Exactly one escalation per clock and threshold, whatever the redeliveries.
        if fact[0] == "alert":
            key = (f"c{fact[1]}", str(fact[2]), int(fact[3]))  # type: ignore[call-overload]
            escalations[key] += sum(isinstance(d, Escalated) for d in decisions)
            case_now = desk.cases.get(key[0])
            if case_now is not None and not case_now.closed:
                assert escalations[key] == 1
            assert escalations[key] <= 1

        # Load is what the open assignments add up to, and never beyond capacity.
        expected: Counter[str] = Counter()
        for case in desk.cases.values():
            if case.handler_id and not case.closed:
                expected[case.handler_id] += case.weight
        assert {h: n for h, n in desk.load.items() if n} == {h: n for h, n in expected.items() if n}
        for handler in directory.handlers():
            assert desk.load.get(handler.id, 0) <= desk.capacity(handler.id)
        # The queue index agrees with the cases: every unassigned open case, in arrival order.
        waiting = sorted((c for c in desk.cases.values() if c.queued), key=lambda c: c.queued_seq)
        assert desk.queue("care") == waiting
        # The owner index agrees with the cases it indexes.
        for customer in {c.request.customer_id for c in desk.cases.values()}:
            held = Counter(
                c.handler_id
                for c in desk.cases.values()
                if c.request.customer_id == customer and c.handler_id and not c.closed
            )
            owner = min(held, key=lambda h: (-held[h], h)) if held else None
            assert desk.owner_of(customer) == owner

        # A repeat contact reaches the customer's owner when they are eligible and free.
        if fact[0] == "classify":
            request = fact[1]
            owner_id = owners_before.get(int(request.customer_id[1:]))  # type: ignore[attr-defined]
            assigned = [d for d in decisions if isinstance(d, Assigned)]
            if owner_id and assigned and assigned[0].complaint_id == request.complaint_id:  # type: ignore[attr-defined]
                owner = directory.handler(owner_id)
                assert owner is not None
                load_before = desk.load.get(owner_id, 0) - (
                    assigned[0].handler_id == owner_id and desk.cases[request.complaint_id].weight  # type: ignore[attr-defined]
                )
                was_free = (
                    not unmet_requirements(owner, request, directory.team("care"))  # type: ignore[arg-type]
                    and not desk.absent(owner, now)
                    and load_before + desk.cases[request.complaint_id].weight  # type: ignore[attr-defined]
                    <= desk.capacity(owner_id)
                )
                if was_free:
                    assert assigned[0].handler_id == owner_id

        # Every queued complaint is assigned once someone eligible has room.
        for case in desk.queue("care"):
            assert not any(
                fits(desk, directory, h, case.complaint_id, now) for h in directory.handlers()
            )

        # Drained in arrival order.
        drained = [
            desk.cases[d.complaint_id].queued_seq
            for d in decisions
            if isinstance(d, Assigned) and d.kind == "initial" and fact[0] != "classify"
        ]
        assert drained == sorted(drained)
        queued = [d for d in decisions if isinstance(d, Queued)]
        for q in queued:
            assert q.position == len(desk.queue("care"))
