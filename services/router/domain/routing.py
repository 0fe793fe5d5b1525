"""Choosing the most capable available person for a complaint, with the reasons why.

Order of preference (each step narrows the candidates, and is relaxed, with a reason,
only when nobody would be left):
1. the team: abuse goes to the conduct team; otherwise the team owning the category;
2. a repeat contact goes to the customer's current owner if they still have room;
3. people who speak the customer's language;
4. vulnerability training when the customer is vulnerable;
5. seniority: people cleared for the complaint's severity;
6. spare capacity; then the least loaded (by fraction of capacity), ties by id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kintsugi.common.names import SEVERITIES
from services.router.domain.directory import Directory, Handler, Team

SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


@dataclass(frozen=True, slots=True)
class RoutingRequest:
    complaint_id: str
    customer_id: str
    category: str
    severity: str
    language: str
    vulnerable: bool
    abusive: bool
    product: str = ""
    regime: str = ""


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class Decision:
    team_id: str
    handler: Handler
    reasons: tuple[Reason, ...]
    executive_review: bool


def choose_team(request: RoutingRequest, directory: Directory) -> tuple[Team, Reason]:
    if request.abusive:
        conduct = next((t for t in directory.teams if t.handles_abuse), None)
        if conduct is not None:
            return conduct, Reason("team.abuse", f"abusive content goes to {conduct.name}")
    owner = next((t for t in directory.teams if request.category in t.categories), None)
    if owner is not None:
        return owner, Reason("team.category", f"{owner.name} handles '{request.category}'")
    default = directory.team(directory.default_team_id)
    return default, Reason("team.default", f"no team owns '{request.category}': {default.name}")


def route(
    request: RoutingRequest,
    directory: Directory,
    load: Mapping[str, int],
    current_owner_id: str | None = None,
) -> Decision:
    """Pure decision: same inputs, same person and reasons."""
    team, team_reason = choose_team(request, directory)
    reasons = [team_reason]
    executive_review = _sampled_for_executive_review(
        request.complaint_id, directory.executive_sample_percent
    )
    if executive_review:
        reasons.append(
            Reason("sample.executive", "sampled for review by the chief executive's office")
        )

    def has_room(h: Handler) -> bool:
        return load.get(h.id, 0) < h.capacity

    owner = directory.handler(current_owner_id) if current_owner_id else None
    # Abuse goes to the conduct team even from a customer someone already looks after.
    if owner is not None and has_room(owner) and not (request.abusive and team.handles_abuse):
        reasons.append(
            Reason("handler.repeat_contact", f"{owner.name} already owns this customer's case")
        )
        return Decision(owner.team_id, owner, tuple(reasons), executive_review)

    language = request.language.split("-", 1)[0].lower()
    filters: list[tuple[str, str, Callable[[Handler], bool]]] = [
        ("language", f"speaks '{language}'", lambda h: language in h.languages),
        (
            "vulnerability",
            "trained to support vulnerable customers",
            lambda h: h.vulnerability_trained or not request.vulnerable,
        ),
        (
            "severity",
            f"cleared for {request.severity} severity",
            lambda h: SEVERITY_RANK[h.max_severity] >= SEVERITY_RANK.get(request.severity, 0),
        ),
        ("capacity", "has spare capacity", has_room),
    ]
    candidates = list(team.members)
    for name, description, keep in filters:
        narrowed = [h for h in candidates if keep(h)]
        if narrowed:
            if len(narrowed) < len(candidates) or name == "capacity":
                reasons.append(Reason(f"filter.{name}", description))
            candidates = narrowed
        else:
            reasons.append(Reason(f"relaxed.{name}", f"nobody in {team.name} {description}"))

    chosen = min(candidates, key=lambda h: (load.get(h.id, 0) / h.capacity, h.id))
    reasons.append(
        Reason(
            "handler.least_loaded",
            f"{chosen.name} has {load.get(chosen.id, 0)} of {chosen.capacity} open complaints",
        )
    )
    return Decision(team.id, chosen, tuple(reasons), executive_review)


def unmet_requirements(handler: Handler, request: RoutingRequest, team: Team) -> list[str]:
    """Every required skill or clearance ``handler`` lacks for ``request`` (empty: eligible).

    Category is the team's; language is required only when someone in the team speaks it
    (otherwise no one could ever take the complaint, and it would wait forever).
    """
    unmet = []
    if handler.team_id != team.id:
        unmet.append(f"not in {team.name}")
    language = request.language.split("-", 1)[0].lower()
    if language not in handler.languages and any(language in m.languages for m in team.members):
        unmet.append(f"does not speak '{language}'")
    if request.vulnerable and not handler.vulnerability_trained:
        unmet.append("not trained to support vulnerable customers")
    if SEVERITY_RANK[handler.max_severity] < SEVERITY_RANK.get(request.severity, 0):
        unmet.append(f"not cleared for {request.severity} severity")
    if request.product and handler.products and request.product not in handler.products:
        unmet.append(f"does not handle '{request.product}'")
    if request.regime and handler.regimes and request.regime not in handler.regimes:
        unmet.append(f"not trained in '{request.regime}'")
    return unmet


def sampled_for_executive_review(complaint_id: str, percent: float) -> bool:
    return _sampled_for_executive_review(complaint_id, percent)


def _sampled_for_executive_review(complaint_id: str, percent: float) -> bool:
    """Deterministic per complaint, so a replay makes the same choice."""
    bucket = int(hashlib.sha256(complaint_id.encode()).hexdigest()[:8], 16) % 10_000
    return bucket < percent * 100
