"""The policy set: every policy and calendar, loaded from YAML and validated as a whole.

A policy directory holds `calendars.yaml` and one `*.yaml` file per policy, in its current
version. Earlier versions of a policy live on in `history/` (same format, each with its
`version`): a running clock stays pinned to the version it started under, so every version
a stored clock may name must stay loadable. Loading reports every problem at once, each
naming the file, the path inside it and the rule it breaks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from kintsugi.common.config_files import StrictLoader, format_location, format_rule
from services.sla.domain.business_calendar import BusinessCalendar
from services.sla.domain.definitions import ANY_REGIME, ClockDefinition, Policy
from services.sla.domain.errors import ComplaintFactsError, PolicyError, PolicyIssue, StateError
from services.sla.domain.facts import NO_REGIME, ComplaintFacts
from services.sla.domain.policy_schema import (
    CalendarsFileSpec,
    PolicySpec,
    calendar_issues,
    policy_issues,
    to_calendar,
    to_policy,
)

CALENDARS_FILE = "calendars.yaml"
HISTORY_DIRECTORY = "history"
DEFAULT_POLICY_DIRECTORY = Path(__file__).resolve().parent.parent / "policies"

_Spec = TypeVar("_Spec", bound=BaseModel)


class PolicySet:
    """Loaded policies and calendars; immutable apart from the calendars' lookup caches."""

    __slots__ = (
        "_calendars",
        "_clock_regimes",
        "_clocks",
        "_pinned",
        "_policies",
        "_regimes",
        "_versions",
    )

    def __init__(
        self,
        policies: Sequence[Policy],
        calendars: Mapping[str, BusinessCalendar],
        history: Sequence[Policy] = (),
    ) -> None:
        issues = [*_cross_policy_issues(policies), *_history_issues(policies, history)]
        if issues:
            raise PolicyError(issues)
        self._policies = tuple(policies)
        self._calendars = dict(calendars)
        self._clocks = {clock.clock_id: clock for policy in policies for clock in policy.clocks}
        self._regimes = frozenset(p.regime for p in policies if p.regime != ANY_REGIME)
        self._clock_regimes = {
            c.clock_id: p.regime for p in (*policies, *history) for c in p.clocks
        }
        # Every loaded version of every policy, by (policy id, version).
        self._versions = {(p.policy_id, p.version): p for p in (*history, *policies)}
        self._pinned = {
            (clock.clock_id, p.version): clock
            for p in self._versions.values()
            for clock in p.clocks
        }

    @classmethod
    def load(cls, directory: Path) -> PolicySet:
        directory = Path(directory)
        if not directory.is_dir():
            raise PolicyError([PolicyIssue(directory, "(directory)", "policy directory not found")])
        issues: list[PolicyIssue] = []
        calendars = _load_calendars(directory / CALENDARS_FILE, issues)
        policies = _load_policies(directory, issues)
        if not policies and not issues:
            issues.append(PolicyIssue(directory, "(directory)", "no policy files (*.yaml)"))
        history = _load_policies(directory / HISTORY_DIRECTORY, issues)
        issues.extend(_cross_policy_issues(policies))
        issues.extend(_history_issues(policies, history))
        if issues:
            raise PolicyError(issues)
        return cls(policies, calendars, history)

    @classmethod
    def default(cls) -> PolicySet:
        """The policies shipped in services/sla/policies (loaded once per process)."""
        return _default_policy_set()

    @property
    def policies(self) -> tuple[Policy, ...]:
        return self._policies

    @property
    def calendars(self) -> Mapping[str, BusinessCalendar]:
        return self._calendars

    @property
    def regimes(self) -> frozenset[str]:
        return self._regimes

    def calendar(self, jurisdiction: str) -> BusinessCalendar:
        calendar = self._calendars.get(jurisdiction)
        if calendar is None:
            known = ", ".join(sorted(self._calendars))
            raise ComplaintFactsError(
                "jurisdiction", f"unknown jurisdiction {jurisdiction!r}; known: {known}"
            )
        return calendar

    def clock(self, clock_id: str, policy_version: int | None = None) -> ClockDefinition:
        """The clock's current definition, or the one of `policy_version` of its policy
        (the version a running clock started under)."""
        current = self._clocks.get(clock_id)
        if policy_version is None or (
            current is not None and current.policy_version == policy_version
        ):
            if current is None:
                raise StateError(f"clock {clock_id!r} is not defined by any loaded policy")
            return current
        pinned = self._pinned.get((clock_id, policy_version))
        if pinned is not None:
            return pinned
        raise StateError(
            f"clock {clock_id!r} of policy version {policy_version} is not loaded; keep that "
            f"version of its policy in {HISTORY_DIRECTORY}/ while clocks started under it run"
        )

    def policy(self, policy_id: str, version: int | None = None) -> Policy:
        """A policy as loaded now, or one of its versions (current or in history/)."""
        if version is None:
            found = next((p for p in self._policies if p.policy_id == policy_id), None)
        else:
            found = self._versions.get((policy_id, version))
        if found is None:
            loaded = sorted(f"{p}@{v}" for p, v in self._versions)
            raise StateError(
                f"policy {policy_id!r}"
                + ("" if version is None else f" version {version}")
                + f" is not loaded; loaded: {', '.join(loaded)}"
            )
        return found

    def regime_of(self, clock_id: str) -> str:
        """The regime of the policy that defines `clock_id` (``any`` for internal ones)."""
        regime = self._clock_regimes.get(clock_id)
        if regime is None:
            raise StateError(f"clock {clock_id!r} is not defined by any loaded policy")
        return regime

    def clocks_for(self, facts: ComplaintFacts) -> tuple[ClockDefinition, ...]:
        """Every clock the complaint's regime, severity, channel and category call for."""
        if facts.regime != NO_REGIME and facts.regime not in self._regimes:
            known = ", ".join(sorted(self._regimes | {NO_REGIME}))
            raise ComplaintFactsError("regime", f"unknown regime {facts.regime!r}; known: {known}")
        self.calendar(facts.jurisdiction)
        category = facts.normalised_category
        return tuple(
            clock
            for policy in self._policies
            if policy.regime in (ANY_REGIME, facts.regime)
            for clock in policy.clocks
            if clock.applies_when.matches_values(facts.severity, facts.channel, category)
        )


@functools.cache
def _default_policy_set() -> PolicySet:
    return PolicySet.load(DEFAULT_POLICY_DIRECTORY)


def _load_policies(directory: Path, issues: list[PolicyIssue]) -> list[Policy]:
    """Every policy file directly in `directory` (none if it does not exist)."""
    policies: list[Policy] = []
    for file in sorted(directory.glob("*.yaml")):
        if file.name == CALENDARS_FILE:
            continue
        spec = _load_spec(file, PolicySpec, issues)
        if spec is None:
            continue
        found = [PolicyIssue(file, path, rule) for path, rule in policy_issues(spec)]
        issues.extend(found)
        if not found:
            policies.append(to_policy(spec, file))
    return policies


def _load_calendars(file: Path, issues: list[PolicyIssue]) -> dict[str, BusinessCalendar]:
    if not file.is_file():
        issues.append(PolicyIssue(file, "(file)", "calendars file not found"))
        return {}
    spec = _load_spec(file, CalendarsFileSpec, issues)
    if spec is None:
        return {}
    calendars: dict[str, BusinessCalendar] = {}
    for index, calendar in enumerate(spec.calendars):
        at = f"calendars[{index}]"
        found = [PolicyIssue(file, path, rule) for path, rule in calendar_issues(calendar, at)]
        if calendar.id in calendars:
            found.append(PolicyIssue(file, f"{at}.id", "duplicate calendar id"))
        issues.extend(found)
        if not found:
            calendars[calendar.id] = to_calendar(calendar)
    return calendars


def _load_spec(file: Path, model: type[_Spec], issues: list[PolicyIssue]) -> _Spec | None:
    try:
        document = yaml.load(file.read_text(encoding="utf-8"), Loader=StrictLoader)
    except yaml.YAMLError as error:
        issues.append(
            PolicyIssue(file, _yaml_position(error), f"invalid YAML: {_yaml_problem(error)}")
        )
        return None
    if not isinstance(document, dict):
        issues.append(PolicyIssue(file, "(document)", "the document must be a mapping"))
        return None
    try:
        return model.model_validate(document)
    except ValidationError as error:
        issues.extend(
            PolicyIssue(file, format_location(detail["loc"]), format_rule(detail))
            for detail in error.errors()
        )
        return None


def _yaml_position(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    if mark is None:
        return "(document)"
    return f"(line {mark.line + 1}, column {mark.column + 1})"


def _yaml_problem(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None)
    return str(problem) if problem else str(error).splitlines()[0]


def _cross_policy_issues(policies: Sequence[Policy]) -> Iterable[PolicyIssue]:
    policy_files: dict[str, Path | None] = {}
    clock_files: dict[str, Path | None] = {}
    for policy in policies:
        if policy.policy_id in policy_files:
            where = policy_files[policy.policy_id]
            yield PolicyIssue(policy.file, "id", f"policy id {policy.policy_id!r} also in {where}")
        policy_files.setdefault(policy.policy_id, policy.file)
        for index, clock in enumerate(policy.clocks):
            if clock.clock_id in clock_files:
                where = clock_files[clock.clock_id]
                yield PolicyIssue(
                    policy.file,
                    f"clocks[{index}].id",
                    f"clock id {clock.clock_id!r} is already used in {where}; "
                    "clock ids must be unique across all policies",
                )
            clock_files.setdefault(clock.clock_id, policy.file)


def _history_issues(current: Sequence[Policy], history: Sequence[Policy]) -> Iterable[PolicyIssue]:
    """An earlier version belongs to a current policy, is older than it, is listed once, and
    names no clock id that another policy uses."""
    versions = {policy.policy_id: policy.version for policy in current}
    owners = {clock.clock_id: policy.policy_id for policy in current for clock in policy.clocks}
    seen: dict[tuple[str, int], Path | None] = {}
    for policy in history:
        key = (policy.policy_id, policy.version)
        if policy.policy_id not in versions:
            yield PolicyIssue(
                policy.file, "id", f"no current policy {policy.policy_id!r} for this version"
            )
        elif policy.version >= versions[policy.policy_id]:
            yield PolicyIssue(
                policy.file,
                "version",
                f"an earlier version must be below the current one ({versions[policy.policy_id]})",
            )
        if key in seen:
            yield PolicyIssue(policy.file, "version", f"version also in {seen[key]}")
        seen.setdefault(key, policy.file)
        for index, clock in enumerate(policy.clocks):
            owner = owners.get(clock.clock_id, policy.policy_id)
            if owner != policy.policy_id:
                yield PolicyIssue(
                    policy.file,
                    f"clocks[{index}].id",
                    f"clock id {clock.clock_id!r} belongs to policy {owner!r}",
                )
