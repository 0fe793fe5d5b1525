"""The router's decisions over time: assign or queue, drain queues, escalate, cover absence,
and ask for a phone call after three electronic exchanges (the rule of three).

``Desk`` holds every open complaint the router knows and each person's presence and
load, and turns each fact (a classified complaint, an activity, a clock alert, a
presence change, the passing of time) into decisions that carry their reasons. It is
pure: time is passed in, ids derive from the fact that caused them, and a fact seen twice
changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from kintsugi.common.ids import derived_id
from services.router.domain.directory import Directory, Handler, Presence, Team
from services.router.domain.routing import (
    Reason,
    RoutingRequest,
    choose_team,
    sampled_for_executive_review,
    unmet_requirements,
)

Kind = Literal["initial", "escalation", "absence", "reroute"]
ELECTRONIC_CHANNELS = frozenset(
    {"email", "sms", "web_form", "chat", "social_public", "social_private"}
)
CALL_AFTER_EXCHANGES = 3
_SEEN_KEPT = 50


@dataclass(frozen=True, slots=True)
class Case:
    """One complaint as the router sees it."""

    request: RoutingRequest
    team_id: str
    weight: int
    queued_seq: int
    executive_review: bool
    handler_id: str | None = None
    assigned_seq: int = -1
    closed: bool = False
    escalation_level: int = 0
    escalations: tuple[str, ...] = ()
    exchanges: int = 0
    call_requested: bool = False
    # Who had it before an absence moved it, and whether anyone touched it since.
    covering_for: str | None = None
    touched: bool = False
    seen: tuple[str, ...] = ()
    # When it was classified: the start of its time to assign (and of its wait, if queued).
    classified_at: dt.datetime | None = None

    @property
    def complaint_id(self) -> str:
        return self.request.complaint_id

    @property
    def queued(self) -> bool:
        return not self.closed and self.handler_id is None


@dataclass(frozen=True, slots=True)
class Assigned:
    event_id: str
    complaint_id: str
    team_id: str
    team_name: str
    handler_id: str
    handler_name: str
    kind: Kind
    previous_handler_id: str
    reasons: tuple[Reason, ...]
    executive_review: bool
    # A first owner only: seconds from classification to this assignment, and whether
    # they were spent waiting in the team's queue. Measured, never announced.
    waited_s: float | None = None
    from_queue: bool = False


@dataclass(frozen=True, slots=True)
class Queued:
    event_id: str
    complaint_id: str
    team_id: str
    team_name: str
    position: int
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Escalated:
    event_id: str
    complaint_id: str
    team_id: str
    level: int
    from_handler_id: str
    to_id: str
    to_name: str
    clock_id: str
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class CallRequested:
    event_id: str
    complaint_id: str
    team_id: str
    handler_id: str
    handler_name: str
    reasons: tuple[Reason, ...]


Decision = Assigned | Queued | Escalated | CallRequested


@dataclass(frozen=True, slots=True)
class ClockAlert:
    event_id: str
    complaint_id: str
    clock_id: str
    clock_kind: str
    regulatory: bool
    cycle: int
    threshold_percent: int  # 100 for a breach
    due_at: dt.datetime
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Activity:
    event_id: str
    complaint_id: str
    channel: str
    message: bool  # a message to or from the customer
    resolves: bool


@dataclass(frozen=True, slots=True)
class TeamLoad:
    """How full a team is: severity-weighted units its people hold, and the capacity of
    those online now (work held by someone away still has to be done by the team)."""

    team_id: str
    queued: int
    load: int
    capacity_online: int

    @property
    def utilisation(self) -> float:
        """Load over the capacity online; infinite for open work while nobody is online."""
        if self.capacity_online:
            return self.load / self.capacity_online
        return math.inf if self.load else 0.0


@dataclass(slots=True)
class _Person:
    presence: Presence
    since: dt.datetime | None
    capacity: int


@dataclass
class Desk:
    directory: Directory
    cases: dict[str, Case] = field(default_factory=dict)
    load: dict[str, int] = field(default_factory=dict)
    last_assigned: dict[str, int] = field(default_factory=dict)
    people: dict[str, _Person] = field(default_factory=dict)
    # Open complaints per customer and owner, so a repeat contact finds its owner at once.
    _owners: dict[str, dict[str, int]] = field(default_factory=dict)
    # Queued complaints per team (complaint id -> arrival sequence).
    _queues: dict[str, dict[str, int]] = field(default_factory=dict)
    # Complaints whose case changed since the caller last looked: the state to save.
    changed: set[str] = field(default_factory=set)
    _sequence: int = 0

    def __post_init__(self) -> None:
        for handler in self.directory.handlers():
            self.people.setdefault(handler.id, _Person(handler.presence, None, handler.capacity))

    def restore(self, cases: Iterable[Case]) -> None:
        """Rebuild load, fairness and order from saved cases (after a restart or rebalance)."""
        self.cases.clear()
        self.load.clear()
        self.last_assigned.clear()
        self._owners.clear()
        self._queues.clear()
        for case in cases:
            self._put(case)
            self._sequence = max(self._sequence, case.queued_seq, case.assigned_seq)
            if case.handler_id and case.assigned_seq > self.last_assigned.get(case.handler_id, -1):
                self.last_assigned[case.handler_id] = case.assigned_seq
        for team_id, waiting in self._queues.items():
            self._queues[team_id] = dict(sorted(waiting.items(), key=lambda item: item[1]))
        self.changed.clear()

    # ----- reading -------------------------------------------------------------------

    def capacity(self, handler_id: str) -> int:
        return self.people[handler_id].capacity

    def owner_of(self, customer_id: str) -> str | None:
        """The person holding most of the customer's open complaints (ties: lowest id)."""
        counts = self._owners.get(customer_id) if customer_id else None
        if not counts:
            return None
        return min(counts, key=lambda h: (-counts[h], h))

    def queue(self, team_id: str) -> list[Case]:
        # Kept in arrival order: a case joins a queue only when it arrives (and restore
        # re-sorts), so the dict's insertion order is the queue's order.
        return [self.cases[c] for c in self._queues.get(team_id, {})]

    def queue_length(self, team_id: str) -> int:
        return len(self._queues.get(team_id, ()))

    def team_loads(self) -> list[TeamLoad]:
        def online(h: Handler) -> bool:
            return self.people[h.id].presence == "online"

        return [
            TeamLoad(
                team.id,
                queued=self.queue_length(team.id),
                load=sum(self.load.get(h.id, 0) for h in team.members),
                capacity_online=sum(self.capacity(h.id) for h in team.members if online(h)),
            )
            for team in self.directory.teams
        ]

    def absent(self, handler: Handler, now: dt.datetime) -> bool:
        """Away, or offline for longer than the grace during their working hours."""
        person = self.people[handler.id]
        if person.presence == "online":
            return False
        if person.presence == "away":
            return True
        since = person.since or now
        return handler.working_hours.absent_for(since, now) >= self.directory.absence_grace

    def absent_too_long(self, handler: Handler, now: dt.datetime) -> bool:
        person = self.people[handler.id]
        if person.presence == "online":
            return False
        since = person.since or now
        return handler.working_hours.absent_for(since, now) >= self.directory.absence_grace

    def _has_room(self, handler: Handler, weight: int) -> bool:
        return self.load.get(handler.id, 0) + weight <= self.capacity(handler.id)

    # ----- facts ---------------------------------------------------------------------

    def classified(
        self,
        request: RoutingRequest,
        event_id: str,
        now: dt.datetime,
        classified_at: dt.datetime | None = None,
    ) -> list[Decision]:
        """A new complaint: its customer's owner, else the best person with room, else the
        team's queue. A complaint already known changes nothing. ``classified_at`` (when
        the classifier decided; default ``now``) starts its time to assign."""
        if request.complaint_id in self.cases:
            return []
        team, team_reason = choose_team(request, self.directory)
        review = sampled_for_executive_review(
            request.complaint_id, self.directory.executive_sample_percent
        )
        case = Case(
            request=request,
            team_id=team.id,
            weight=self.directory.weight(request.severity),
            queued_seq=self._next(),
            executive_review=review,
            seen=(event_id,),
            classified_at=classified_at or now,
        )
        self._put(case)
        reasons = [team_reason]
        if review:
            reasons.append(
                Reason("sample.executive", "sampled for review by the chief executive's office")
            )
        chosen = self._choose(case, team, now, reasons, sticky=True)
        if chosen is None:
            position = self.queue_length(team.id)
            reasons.append(
                Reason(
                    "queue.position",
                    f"nobody eligible in {team.name} has room: number {position} in the queue",
                )
            )
            return [
                Queued(
                    derived_id(event_id, "queued"),
                    case.complaint_id,
                    team.id,
                    team.name,
                    position,
                    tuple(reasons),
                )
            ]
        assigned = self._assign(case, chosen, "initial", reasons, derived_id(event_id, "assigned"))
        return [_timed(assigned, case, now, from_queue=False)]

    def activity(self, fact: Activity, now: dt.datetime) -> list[Decision]:
        case = self.cases.get(fact.complaint_id)
        if case is None or case.closed or fact.event_id in case.seen:
            return []
        case = replace(case, seen=(*case.seen, fact.event_id)[-_SEEN_KEPT:], touched=True)
        self._put(case)
        if fact.resolves:
            self._put(replace(case, closed=True))
            return self._drain(case.team_id, fact.event_id, now)
        if fact.channel == "phone":
            self._put(replace(case, exchanges=0, call_requested=False))
            return []
        if not (fact.message and fact.channel in ELECTRONIC_CHANNELS):
            return []
        case = replace(case, exchanges=case.exchanges + 1)
        self._put(case)
        if case.exchanges < CALL_AFTER_EXCHANGES or case.call_requested or not case.handler_id:
            return []
        self._put(replace(case, call_requested=True))
        return [
            CallRequested(
                derived_id(fact.event_id, "call_requested"),
                case.complaint_id,
                case.team_id,
                case.handler_id,
                self._name(case.handler_id),
                (
                    Reason(
                        "rule_of_three",
                        f"{case.exchanges} electronic exchanges without resolution: "
                        "phone the customer",
                    ),
                ),
            )
        ]

    def clock_alert(self, alert: ClockAlert) -> list[Decision]:
        """One escalation per clock, cycle and threshold, to the next level of the chain."""
        case = self.cases.get(alert.complaint_id)
        if case is None or case.closed:
            return []
        key = f"{alert.clock_id}#{alert.cycle}@{alert.threshold_percent}"
        if key in case.escalations:
            return []
        team = self.directory.team(case.team_id)
        reasons = [_clock_reason(alert)]
        if case.queued:
            reasons.append(
                Reason("queue.waiting", f"still waiting in the {team.name} queue, unassigned")
            )
        decisions: list[Decision] = []
        level = min(case.escalation_level + 1, len(team.escalation_chain))
        case = replace(case, escalations=(*case.escalations, key), escalation_level=level)
        self._put(case)
        if team.escalation_chain:
            to = team.escalation_chain[level - 1]
            reasons.append(Reason("chain.level", f"level {level}: {to.name}, {to.role}"))
            decisions.append(
                Escalated(
                    derived_id(alert.event_id, "escalated"),
                    case.complaint_id,
                    team.id,
                    level,
                    case.handler_id or "",
                    to.id,
                    to.name,
                    alert.clock_id,
                    tuple(reasons),
                )
            )
        if alert.regulatory and alert.threshold_percent < 100 and case.handler_id:
            decisions.extend(self._rescue(case, team, alert))
        return decisions

    def presence_changed(
        self,
        handler_id: str,
        presence: Presence,
        capacity: int | None,
        event_id: str,
        now: dt.datetime,
        since: dt.datetime | None = None,
    ) -> list[Decision]:
        """Workforce management says someone's presence or capacity changed."""
        handler = self.directory.handler(handler_id)
        if handler is None:
            return []
        person = self.people[handler_id]
        if since is not None:
            person.presence, person.since = presence, since
        elif person.presence != presence:
            person.presence, person.since = presence, now
        if capacity is not None:
            person.capacity = capacity
        decisions: list[Decision] = []
        if presence == "online":
            decisions.extend(self._give_back(handler, event_id))
        for team in self.directory.teams:
            decisions.extend(self._drain(team.id, event_id, now))
        return decisions

    def sweep(self, now: dt.datetime, tick_id: str) -> list[Decision]:
        """Move the open complaints of people absent too long to colleagues with room, then
        give queued complaints to whoever time alone made available: absence is judged in
        working time, so someone offline stops counting as absent when their day ends."""
        decisions: list[Decision] = []
        for handler in self.directory.handlers():
            if not self.absent_too_long(handler, now):
                continue
            team = self.directory.team(handler.team_id)
            mine = sorted(
                (c for c in self.cases.values() if c.handler_id == handler.id and not c.closed),
                key=lambda c: c.assigned_seq,
            )
            for case in mine:
                reasons = [
                    Reason(
                        "absence",
                        f"{handler.name} has been {self.people[handler.id].presence} for "
                        f"longer than {_duration(self.directory.absence_grace)} of working time",
                    )
                ]
                chosen = self._choose(case, team, now, reasons, sticky=False)
                if chosen is not None:
                    event_id = derived_id(tick_id, case.complaint_id, "absence")
                    decisions.append(self._assign(case, chosen, "absence", reasons, event_id))
                    moved = self.cases[case.complaint_id]
                    self._put(replace(moved, covering_for=handler.id, touched=False))
        for team in self.directory.teams:
            decisions.extend(self._drain(team.id, tick_id, now, "availability changed"))
        return decisions

    # ----- inside ----------------------------------------------------------------------

    def _name(self, handler_id: str) -> str:
        handler = self.directory.handler(handler_id)
        return handler.name if handler is not None else handler_id

    def _next(self) -> int:
        self._sequence += 1
        return self._sequence

    def _put(self, case: Case) -> None:
        before = self.cases.get(case.complaint_id)
        if before is not None and before.handler_id and not before.closed:
            self.load[before.handler_id] -= before.weight
            owners = self._owners[before.request.customer_id]
            owners[before.handler_id] -= 1
            if not owners[before.handler_id]:
                del owners[before.handler_id]
        if case.handler_id and not case.closed:
            self.load[case.handler_id] = self.load.get(case.handler_id, 0) + case.weight
            owners = self._owners.setdefault(case.request.customer_id, {})
            owners[case.handler_id] = owners.get(case.handler_id, 0) + 1
        was_queued = before is not None and before.queued
        if was_queued and not case.queued:
            self._queues[case.team_id].pop(case.complaint_id, None)
        elif case.queued and not was_queued:  # joins at the back: arrival order
            self._queues.setdefault(case.team_id, {})[case.complaint_id] = case.queued_seq
        self.cases[case.complaint_id] = case
        self.changed.add(case.complaint_id)

    def _choose(
        self,
        case: Case,
        team: Team,
        now: dt.datetime,
        reasons: list[Reason],
        *,
        sticky: bool,
        excluding: str | None = None,
    ) -> Handler | None:
        def fits(h: Handler) -> bool:
            return (
                h.id != excluding
                and h.id != case.handler_id
                and not unmet_requirements(h, case.request, team)
                and not self.absent(h, now)
                and self._has_room(h, case.weight)
            )

        owner_id = self.owner_of(case.request.customer_id) if sticky else None
        owner = self.directory.handler(owner_id) if owner_id else None
        if owner is not None and owner.team_id == team.id and fits(owner):
            reasons.append(
                Reason("handler.repeat_contact", f"{owner.name} already owns this customer's case")
            )
            return owner
        candidates = [h for h in team.members if fits(h)]
        if not candidates:
            return None
        chosen = min(
            candidates,
            key=lambda h: (
                -(self.capacity(h.id) - self.load.get(h.id, 0)),
                self.last_assigned.get(h.id, -1),
                h.id,
            ),
        )
        spare = self.capacity(chosen.id) - self.load.get(chosen.id, 0)
        reasons.append(Reason("skills.matched", _skills(case.request)))
        reasons.append(
            Reason(
                "handler.most_room",
                f"{chosen.name} has the most room: {spare} of {self.capacity(chosen.id)} "
                f"units free before, {spare - case.weight} after",
            )
        )
        return chosen

    def _assign(
        self, case: Case, handler: Handler, kind: Kind, reasons: list[Reason], event_id: str
    ) -> Assigned:
        seq = self._next()
        previous = case.handler_id or ""
        self._put(replace(case, handler_id=handler.id, assigned_seq=seq))
        self.last_assigned[handler.id] = seq
        return Assigned(
            event_id,
            case.complaint_id,
            handler.team_id,
            self.directory.team(handler.team_id).name,
            handler.id,
            handler.name,
            kind,
            previous,
            tuple(reasons),
            case.executive_review,
        )

    def _drain(
        self, team_id: str, cause_id: str, now: dt.datetime, why: str = "capacity freed"
    ) -> list[Decision]:
        """Assign queued complaints in arrival order while someone eligible has room."""
        team = self.directory.team(team_id)
        decisions: list[Decision] = []
        lightest = min(self.directory.severity_weights.values(), default=1)
        for case in self.queue(team_id):
            if not any(self._has_room(h, lightest) for h in team.members):
                break  # nobody has room for even the lightest complaint: stop looking
            reasons = [Reason("queue.drained", f"{why} in {team.name}")]
            chosen = self._choose(case, team, now, reasons, sticky=True)
            if chosen is not None:
                event_id = derived_id(cause_id, case.complaint_id, "assigned")
                assigned = self._assign(case, chosen, "initial", reasons, event_id)
                decisions.append(_timed(assigned, case, now, from_queue=True))
        return decisions

    def _rescue(self, case: Case, team: Team, alert: ClockAlert) -> list[Decision]:
        owner = self.directory.handler(case.handler_id or "")
        if owner is None:
            return []
        over = self.load.get(owner.id, 0) > self.capacity(owner.id)
        if not (self.absent(owner, alert.at) or over):
            return []
        why = "is over capacity" if over else f"is {self.people[owner.id].presence}"
        reasons = [_clock_reason(alert), Reason("escalation.reassigned", f"{owner.name} {why}")]
        chosen = self._choose(case, team, alert.at, reasons, sticky=False)
        if chosen is None:
            return []
        event_id = derived_id(alert.event_id, "assigned")
        return [self._assign(case, chosen, "escalation", reasons, event_id)]

    def _give_back(self, handler: Handler, cause_id: str) -> list[Decision]:
        """Complaints moved away during an absence return if nobody has touched them."""
        decisions: list[Decision] = []
        for case in sorted(self.cases.values(), key=lambda c: c.assigned_seq):
            if case.covering_for != handler.id or case.closed or case.touched:
                continue
            if not self._has_room(handler, case.weight):
                continue
            reasons = [
                Reason("absence.returned", f"{handler.name} is back; nobody has worked on it")
            ]
            event_id = derived_id(cause_id, case.complaint_id, "returned")
            decisions.append(self._assign(case, handler, "reroute", reasons, event_id))
            self._put(replace(self.cases[case.complaint_id], covering_for=None))
        return decisions


def _timed(assigned: Assigned, case: Case, now: dt.datetime, *, from_queue: bool) -> Assigned:
    if case.classified_at is None:  # saved before cases kept the time: unknown, not zero
        return replace(assigned, from_queue=from_queue)
    waited = max((now - case.classified_at).total_seconds(), 0.0)
    return replace(assigned, waited_s=waited, from_queue=from_queue)


def _clock_reason(alert: ClockAlert) -> Reason:
    kind = "regulatory" if alert.regulatory else "internal"
    left = alert.due_at - alert.at
    if alert.threshold_percent >= 100 or left <= dt.timedelta(0):
        # The sla dates a breach at the deadline itself; later only when reported late.
        late = f"{_duration(-left)} ago" if -left >= dt.timedelta(seconds=1) else "no time left"
        return Reason("clock.breached", f"{kind} {alert.clock_kind} clock breached: {late}")
    return Reason(
        "clock.warning",
        f"{kind} {alert.clock_kind} clock at {alert.threshold_percent}%: {_duration(left)} left",
    )


def _duration(span: dt.timedelta) -> str:
    """Hours and minutes; seconds below a minute (a short internal clock), never '0 min'."""
    seconds = int(max(span, dt.timedelta(0)).total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes} min"


def _skills(request: RoutingRequest) -> str:
    needs = [f"'{request.category}'", f"language '{request.language}'"]
    needs.append(f"cleared for {request.severity}")
    if request.vulnerable:
        needs.append("vulnerability training")
    if request.product:
        needs.append(f"product '{request.product}'")
    if request.regime:
        needs.append(f"regime '{request.regime}'")
    return "has every required skill: " + ", ".join(needs)
