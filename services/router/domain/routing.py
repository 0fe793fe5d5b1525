"""What a complaint needs: its team, the skills and clearances its handler must have, and
whether the chief executive's office reviews its responses.

- the team: abuse goes to the conduct team; otherwise the team owning the category, else
  the default team;
- eligibility (``unmet_requirements``): language, vulnerability training, severity
  clearance, product and regime; a person lacking any one is never chosen;
- executive sampling: a deterministic draw per complaint, so a replay agrees.

Who among the eligible gets it, and when it waits, is the desk's business (``desk``).
"""

from __future__ import annotations

import hashlib
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
    """Deterministic per complaint, so a replay makes the same choice."""
    bucket = int(hashlib.sha256(complaint_id.encode()).hexdigest()[:8], 16) % 10_000
    return bucket < percent * 100
