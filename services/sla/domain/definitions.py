"""Loaded policies: which clocks exist, when they apply, and how they behave."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from services.sla.domain.facts import ComplaintFacts, Milestone
from services.sla.domain.rules import DueRule, LeadTime


class ClockKind(enum.StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    FIRST_RESPONSE = "first_response"
    PROGRESS_UPDATE = "progress_update"
    SUMMARY_RESOLUTION = "summary_resolution"
    HOLDING_RESPONSE = "holding_response"
    FINAL_RESPONSE = "final_response"
    RESOLUTION = "resolution"


class OnExpiry(enum.StrEnum):
    BREACH = "breach"
    # A window that simply closes, e.g. DISP 1.5 summary resolution: missing it is no breach.
    LAPSE = "lapse"


class OnReopen(enum.StrEnum):
    RESTART = "restart"
    KEEP = "keep"


@dataclass(frozen=True, slots=True)
class Applicability:
    """Conditions on the complaint; None means "any"."""

    severities: frozenset[str] | None = None
    channels: frozenset[str] | None = None
    categories: frozenset[str] | None = None
    exclude_categories: frozenset[str] = frozenset()

    def matches(self, facts: ComplaintFacts) -> bool:
        return self.matches_values(facts.severity, facts.channel, facts.normalised_category)

    def matches_values(self, severity: str, channel: str, category: str) -> bool:
        if self.severities is not None and severity not in self.severities:
            return False
        if self.channels is not None and channel not in self.channels:
            return False
        if self.categories is not None and category not in self.categories:
            return False
        return category not in self.exclude_categories


@dataclass(frozen=True, slots=True)
class ClockDefinition:
    clock_id: str
    kind: ClockKind
    title: str
    basis: str
    due: DueRule
    applies_when: Applicability
    warnings: tuple[int, ...]
    customer_update_lead: LeadTime | None
    pausable: bool
    on_expiry: OnExpiry
    on_reopen: OnReopen
    # Customer communications that meet this clock; None = the default for its kind.
    met_by: frozenset[Milestone] | None
    policy_id: str
    policy_title: str
    regulatory: bool
    # The version of its policy this definition belongs to; clocks stay pinned to it.
    policy_version: int = 1

    @property
    def is_cadence(self) -> bool:
        return self.kind is ClockKind.PROGRESS_UPDATE


@dataclass(frozen=True, slots=True)
class Policy:
    policy_id: str
    title: str
    regime: str  # ANY_REGIME for policies that apply to every complaint
    regulatory: bool
    source: str
    clocks: tuple[ClockDefinition, ...]
    file: Path | None = field(default=None, compare=False)
    version: int = 1


ANY_REGIME = "any"
