"""The YAML schema of policy and calendar files, and its translation into domain objects.

Pydantic checks shapes and types; the `*_issues` functions check the rules that span
fields, each reported at the exact path it concerns (e.g. `clocks[2].due.cutoff`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from services.sla.domain.business_calendar import (
    MINUTES_PER_DAY,
    BusinessCalendar,
    HolidaySource,
    WorkingSlot,
)
from services.sla.domain.definitions import (
    ANY_REGIME,
    Applicability,
    ClockDefinition,
    ClockKind,
    OnExpiry,
    OnReopen,
    Policy,
)
from services.sla.domain.facts import (
    CHANNELS,
    CUSTOMER_COMMUNICATIONS,
    NO_REGIME,
    SEVERITIES,
    Milestone,
    normalise_category,
)
from services.sla.domain.rules import (
    ALLOWED_CUTOFFS,
    LEAD_UNITS,
    Cutoff,
    DueRule,
    DurationPart,
    DurationUnit,
    LeadTime,
)

Issue = tuple[str, str]  # (path, rule)

_SLOT = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def _one_of(allowed: tuple[str, ...], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{value!r} is not a known {what} ({', '.join(allowed)})")
        return value

    return check


def _check_slot(text: str) -> str:
    _parse_slot(text)
    return text


def _parse_slot(text: str) -> WorkingSlot:
    match = _SLOT.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a working slot like '09:00-17:00'")
    start_h, start_m, end_h, end_m = (int(group) for group in match.groups())
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start_m > 59 or end_m > 59 or start >= MINUTES_PER_DAY or end > MINUTES_PER_DAY:
        raise ValueError(f"{text!r} is not a valid time range within one day (00:00-24:00)")
    if start >= end:
        raise ValueError(f"{text!r} ends before it starts")
    return WorkingSlot(start, end)


Identifier = Annotated[StrictStr, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,47}$")]
CalendarId = Annotated[StrictStr, Field(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,8})*$")]
Text = Annotated[StrictStr, Field(min_length=1)]
Amount = Annotated[StrictInt, Field(gt=0, le=100_000)]
Severity = Annotated[StrictStr, AfterValidator(_one_of(SEVERITIES, "severity"))]
Channel = Annotated[StrictStr, AfterValidator(_one_of(CHANNELS, "channel"))]
SlotText = Annotated[StrictStr, AfterValidator(_check_slot)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DurationSpec(_Spec):
    amount: Amount
    unit: DurationUnit
    cutoff: Cutoff | None = None


class DueSpec(_Spec):
    amount: Amount | None = None
    unit: DurationUnit | None = None
    cutoff: Cutoff | None = None
    latest_of: list[DurationSpec] | None = Field(default=None, min_length=2)


class LeadSpec(_Spec):
    amount: Amount
    unit: DurationUnit


class WhenSpec(_Spec):
    severities: list[Severity] | None = Field(default=None, min_length=1)
    channels: list[Channel] | None = Field(default=None, min_length=1)
    categories: list[Text] | None = Field(default=None, min_length=1)
    exclude_categories: list[Text] = []


class ClockSpec(_Spec):
    id: Identifier
    kind: ClockKind
    title: Text
    basis: StrictStr = ""
    due: DueSpec
    when: WhenSpec = WhenSpec()
    warnings: list[Annotated[StrictInt, Field(ge=1, le=99)]] = [50, 75, 90]
    customer_update_lead: LeadSpec | None = None
    pausable: StrictBool = False
    on_expiry: OnExpiry = OnExpiry.BREACH
    on_reopen: OnReopen = OnReopen.RESTART
    met_by: list[Milestone] | None = Field(default=None, min_length=1)


class PolicySpec(_Spec):
    id: Identifier
    # Bumped on every change that moves deadlines; files without one are version 1.
    version: Annotated[StrictInt, Field(ge=1, le=100_000)] = 1
    title: Text
    regime: Identifier
    regulatory: StrictBool
    source: StrictStr = ""
    clocks: list[ClockSpec] = Field(min_length=1)


class HolidaysSpec(_Spec):
    country: Annotated[StrictStr, Field(pattern=r"^[A-Z]{2}$")]
    subdivision: StrictStr | None = None


class ClosureSpec(_Spec):
    date: dt.date
    name: Text


class WorkingWeekSpec(_Spec):
    mon: list[SlotText] = []
    tue: list[SlotText] = []
    wed: list[SlotText] = []
    thu: list[SlotText] = []
    fri: list[SlotText] = []
    sat: list[SlotText] = []
    sun: list[SlotText] = []

    def days(self) -> tuple[tuple[str, list[str]], ...]:
        return (
            ("mon", self.mon),
            ("tue", self.tue),
            ("wed", self.wed),
            ("thu", self.thu),
            ("fri", self.fri),
            ("sat", self.sat),
            ("sun", self.sun),
        )


class CalendarSpec(_Spec):
    id: CalendarId
    title: Text
    time_zone: Text
    holidays: HolidaysSpec | None = None
    working_hours: WorkingWeekSpec
    closures: list[ClosureSpec] = []


class CalendarsFileSpec(_Spec):
    calendars: list[CalendarSpec] = Field(min_length=1)


# --- rules across fields ------------------------------------------------------------------


def policy_issues(spec: PolicySpec) -> list[Issue]:
    issues: list[Issue] = []
    if spec.regime == NO_REGIME:
        issues.append(("regime", f"'{NO_REGIME}' means no regime; use '{ANY_REGIME}' instead"))
    if spec.regulatory and spec.regime == ANY_REGIME:
        issues.append(("regime", "a regulatory policy must name the regime it implements"))
    seen: dict[str, int] = {}
    for index, clock in enumerate(spec.clocks):
        at = f"clocks[{index}]"
        if clock.id in seen:
            issues.append((f"{at}.id", f"duplicate clock id (also clocks[{seen[clock.id]}])"))
        seen.setdefault(clock.id, index)
        if spec.regulatory and clock.pausable:
            issues.append((f"{at}.pausable", "regulatory clocks never pause; set pausable: false"))
        issues.extend(_due_issues(clock, f"{at}.due"))
        issues.extend(_warning_issues(clock.warnings, f"{at}.warnings"))
        lead = clock.customer_update_lead
        if lead is not None and lead.unit not in LEAD_UNITS:
            allowed = ", ".join(sorted(unit.value for unit in LEAD_UNITS))
            issues.append((f"{at}.customer_update_lead.unit", f"a lead time is one of {allowed}"))
        for position, milestone in enumerate(clock.met_by or ()):
            if milestone not in CUSTOMER_COMMUNICATIONS:
                issues.append(
                    (f"{at}.met_by[{position}]", "only a customer communication can meet a clock")
                )
        if clock.on_expiry is OnExpiry.LAPSE and clock.kind is ClockKind.PROGRESS_UPDATE:
            issues.append((f"{at}.on_expiry", "a progress-update cadence cannot lapse"))
    issues.extend(_overlap_issues(spec.clocks))
    return issues


def _due_issues(clock: ClockSpec, at: str) -> Iterator[Issue]:
    due = clock.due
    if due.latest_of is not None:
        if due.amount is not None or due.unit is not None or due.cutoff is not None:
            yield at, "give either amount/unit/cutoff or latest_of, not both"
        if clock.pausable:
            yield at, "a pausable clock needs a single duration, not latest_of"
        for index, part in enumerate(due.latest_of):
            yield from _cutoff_issues(part.unit, part.cutoff, f"{at}.latest_of[{index}]")
        return
    if due.amount is None:
        yield f"{at}.amount", "required field is missing (or give latest_of)"
    if due.unit is None:
        yield f"{at}.unit", "required field is missing (or give latest_of)"
    else:
        yield from _cutoff_issues(due.unit, due.cutoff, at)


def _cutoff_issues(unit: DurationUnit, cutoff: Cutoff | None, at: str) -> Iterator[Issue]:
    allowed = ALLOWED_CUTOFFS[unit]
    names = " or ".join(sorted(item.value for item in allowed))
    if cutoff is None and unit in (DurationUnit.CALENDAR_DAYS, DurationUnit.BUSINESS_DAYS):
        yield f"{at}.cutoff", f"{unit.value} must say where the deadline lands: {names}"
    elif cutoff is not None and cutoff not in allowed:
        yield f"{at}.cutoff", f"cutoff {cutoff.value} does not apply to {unit.value}; use {names}"


def _warning_issues(warnings: list[int], at: str) -> Iterator[Issue]:
    for index in range(1, len(warnings)):
        if warnings[index] <= warnings[index - 1]:
            yield f"{at}[{index}]", "warning thresholds must be strictly increasing percentages"


def _overlap_issues(clocks: list[ClockSpec]) -> Iterator[Issue]:
    """Two clocks of the same kind in one policy must never both apply to a complaint."""
    for (first_index, first), (second_index, second) in itertools.combinations(
        enumerate(clocks), 2
    ):
        if first.kind is not second.kind:
            continue
        clash = _shared_complaint(_applicability(first), _applicability(second), (first, second))
        if clash is not None:
            severity, channel, category = clash
            yield (
                f"clocks[{second_index}].when",
                f"overlaps clocks[{first_index}] (both {first.kind.value}) for "
                f"severity={severity}, channel={channel}, category={category}; "
                "make the conditions disjoint",
            )


def _shared_complaint(
    first: Applicability, second: Applicability, specs: tuple[ClockSpec, ClockSpec]
) -> tuple[str, str, str] | None:
    named = {
        normalise_category(name)
        for spec in specs
        for name in (*(spec.when.categories or ()), *spec.when.exclude_categories)
    }
    for severity, channel, category in itertools.product(
        SEVERITIES, CHANNELS, (*sorted(named), "<any other>")
    ):
        if first.matches_values(severity, channel, category) and second.matches_values(
            severity, channel, category
        ):
            return severity, channel, category
    return None


def calendar_issues(spec: CalendarSpec, at: str) -> list[Issue]:
    issues: list[Issue] = []
    try:
        ZoneInfo(spec.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        issues.append((f"{at}.time_zone", f"{spec.time_zone!r} is not an IANA time zone"))
    if spec.holidays is not None:
        try:
            holidays_lib.country_holidays(spec.holidays.country, subdiv=spec.holidays.subdivision)
        except NotImplementedError as error:
            field = "subdivision" if spec.holidays.subdivision else "country"
            issues.append((f"{at}.holidays.{field}", f"holidays package: {error}"))
    days = spec.working_hours.days()
    if not any(slots for _, slots in days):
        issues.append((f"{at}.working_hours", "at least one working slot in the week is needed"))
    for name, slots in days:
        parsed = [_parse_slot(text) for text in slots]
        for index in range(1, len(parsed)):
            if parsed[index].start_minute < parsed[index - 1].end_minute:
                issues.append(
                    (
                        f"{at}.working_hours.{name}[{index}]",
                        "slots must be in order and must not overlap",
                    )
                )
    seen: set[dt.date] = set()
    for index, closure in enumerate(spec.closures):
        if closure.date in seen:
            issues.append((f"{at}.closures[{index}].date", "closure date listed twice"))
        seen.add(closure.date)
    return issues


# --- to domain objects --------------------------------------------------------------------


def to_policy(spec: PolicySpec, file: Path | None) -> Policy:
    clocks = tuple(_to_clock(clock, spec) for clock in spec.clocks)
    return Policy(
        policy_id=spec.id,
        title=spec.title,
        regime=spec.regime,
        regulatory=spec.regulatory,
        source=spec.source,
        clocks=clocks,
        file=file,
        version=spec.version,
    )


def _to_clock(spec: ClockSpec, policy: PolicySpec) -> ClockDefinition:
    due = spec.due
    if due.latest_of is not None:
        parts = tuple(_part(p.amount, p.unit, p.cutoff) for p in due.latest_of)
    else:
        assert due.amount is not None and due.unit is not None  # guaranteed by _due_issues
        parts = (_part(due.amount, due.unit, due.cutoff),)
    rule = DueRule(parts)
    lead = spec.customer_update_lead
    return ClockDefinition(
        clock_id=spec.id,
        kind=spec.kind,
        title=spec.title,
        basis=" ".join(spec.basis.split()),
        due=rule,
        applies_when=_applicability(spec),
        warnings=tuple(spec.warnings),
        customer_update_lead=LeadTime(lead.amount, lead.unit) if lead else None,
        pausable=spec.pausable,
        on_expiry=spec.on_expiry,
        on_reopen=spec.on_reopen,
        met_by=frozenset(spec.met_by) if spec.met_by else None,
        policy_id=policy.id,
        policy_title=policy.title,
        regulatory=policy.regulatory,
        policy_version=policy.version,
    )


def _part(amount: int, unit: DurationUnit, cutoff: Cutoff | None) -> DurationPart:
    return DurationPart(amount, unit, cutoff or Cutoff.EXACT_TIME)


def _categories(names: list[str]) -> frozenset[str]:
    return frozenset(normalise_category(name) for name in names)


def _applicability(spec: ClockSpec) -> Applicability:
    when = spec.when
    return Applicability(
        severities=frozenset(when.severities) if when.severities else None,
        channels=frozenset(when.channels) if when.channels else None,
        categories=_categories(when.categories) if when.categories else None,
        exclude_categories=_categories(when.exclude_categories),
    )


def to_calendar(spec: CalendarSpec) -> BusinessCalendar:
    source = spec.holidays
    return BusinessCalendar(
        calendar_id=spec.id,
        title=spec.title,
        time_zone=spec.time_zone,
        working_week=[
            [_parse_slot(text) for text in slots] for _, slots in spec.working_hours.days()
        ],
        holiday_source=HolidaySource(source.country, source.subdivision) if source else None,
        closures={closure.date: closure.name for closure in spec.closures},
    )
