"""Teams and people who handle complaints, loaded from a YAML directory file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kintsugi.common.config_files import load_model
from kintsugi.common.names import SEVERITIES
from services.router.domain.working_hours import ALWAYS, WEEKDAYS, WorkingHours

Presence = Literal["online", "away", "offline"]
PRESENCES: tuple[Presence, ...] = ("online", "away", "offline")
_SEVERITY_PATTERN = f"^({'|'.join(SEVERITIES)})$"
DEFAULT_SEVERITY_WEIGHTS = {"low": 1, "medium": 1, "high": 2, "critical": 3}


class _Handler(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    languages: list[str] = Field(min_length=1)
    capacity: int = Field(gt=0)
    vulnerability_trained: bool = False
    max_severity: str = Field(default="critical", pattern=_SEVERITY_PATTERN)
    # Empty means "any": a generalist handles every product and every regime.
    products: list[str] = Field(default_factory=list)
    regimes: list[str] = Field(default_factory=list)
    presence: Presence = "online"
    calendar: str | None = None


class _Contact(BaseModel):
    """Someone complaints escalate to who takes no complaints of their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    role: str = Field(min_length=1)


class _Calendar(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    time_zone: str = Field(min_length=1)
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1)
    start: dt.time
    end: dt.time
    holidays: str | None = Field(default=None, pattern="^[A-Z]{2}(-[A-Z0-9]{1,3})?$")

    @model_validator(mode="after")
    def _zone_is_known_and_hours_are_a_day_slot(self) -> _Calendar:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"time_zone '{self.time_zone}' is not an IANA time zone") from error
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class _Team(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    categories: list[str] = Field(default_factory=list)
    handles_abuse: bool = False
    members: list[_Handler] = Field(min_length=1)
    calendar: str | None = None
    # Team lead -> complaints manager -> executive office: ids of handlers or contacts.
    escalation_chain: list[str] = Field(default_factory=list)


class _Directory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    default_team: str
    executive_sample_percent: float = Field(default=5.0, ge=0, le=100)
    teams: list[_Team] = Field(min_length=1)
    severity_weights: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_SEVERITY_WEIGHTS))
    absence_grace_minutes: int = Field(default=30, ge=1)
    calendars: dict[str, _Calendar] = Field(default_factory=dict)
    escalation_contacts: list[_Contact] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_resolve(self) -> _Directory:
        if set(self.severity_weights) != set(SEVERITIES) or min(self.severity_weights.values()) < 1:
            raise ValueError(
                f"severity_weights needs a positive weight for each of {', '.join(SEVERITIES)}"
            )
        people = {m.id for t in self.teams for m in t.members} | {
            c.id for c in self.escalation_contacts
        }
        for t, team in enumerate(self.teams):
            uses = [(f"teams.{t}.calendar", team.calendar)] + [
                (f"teams.{t}.members.{m}.calendar", member.calendar)
                for m, member in enumerate(team.members)
            ]
            for where, calendar in uses:
                if calendar is not None and calendar not in self.calendars:
                    raise ValueError(f"{where}: calendar '{calendar}' is not defined in calendars")
            unknown = [i for i in team.escalation_chain if i not in people]
            if unknown:
                raise ValueError(
                    f"teams.{t}.escalation_chain: not a handler or escalation contact: "
                    f"{', '.join(unknown)}"
                )
        return self

    @model_validator(mode="after")
    def _ids_are_unique_and_default_team_exists(self) -> _Directory:
        team_ids = [t.id for t in self.teams]
        handler_ids = [m.id for t in self.teams for m in t.members]
        # Load is counted per handler id: one person listed twice would be half-counted.
        for kind, ids in (("team", team_ids), ("handler", handler_ids)):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"{kind} ids must be unique; repeated: {', '.join(repeated)}")
        if self.default_team not in team_ids:
            raise ValueError(f"default_team '{self.default_team}' is not one of the teams")
        return self


@dataclass(frozen=True, slots=True)
class Handler:
    id: str
    name: str
    team_id: str
    languages: tuple[str, ...]
    capacity: int
    vulnerability_trained: bool
    max_severity: str
    products: tuple[str, ...] = ()
    regimes: tuple[str, ...] = ()
    presence: Presence = "online"
    working_hours: WorkingHours = ALWAYS


@dataclass(frozen=True, slots=True)
class Contact:
    """One named level of an escalation chain."""

    id: str
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    name: str
    categories: tuple[str, ...]
    handles_abuse: bool
    members: tuple[Handler, ...]
    escalation_chain: tuple[Contact, ...] = ()


@dataclass(frozen=True, slots=True)
class Directory:
    teams: tuple[Team, ...]
    default_team_id: str
    executive_sample_percent: float
    severity_weights: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType(DEFAULT_SEVERITY_WEIGHTS)
    )
    absence_grace: dt.timedelta = dt.timedelta(minutes=30)

    def weight(self, severity: str) -> int:
        """How much of a person's capacity one complaint of this severity takes."""
        return self.severity_weights.get(severity, 1)

    def handlers(self) -> tuple[Handler, ...]:
        return tuple(h for t in self.teams for h in t.members)

    def team(self, team_id: str) -> Team:
        return next(t for t in self.teams if t.id == team_id)

    def handler(self, handler_id: str) -> Handler | None:
        return next((h for t in self.teams for h in t.members if h.id == handler_id), None)

    @classmethod
    def load(cls, path: Path) -> Directory:
        """Raise ``ConfigFileError`` naming the file, line, path and rule of each problem."""
        parsed, _ = load_model(path, _Directory)
        hours = {
            name: WorkingHours(
                time_zone=c.time_zone,
                days=frozenset(WEEKDAYS.index(d) for d in c.days),
                start=c.start,
                end=c.end,
                holiday_country=c.holidays.split("-")[0] if c.holidays else None,
                holiday_subdivision=c.holidays.split("-")[1]
                if c.holidays and "-" in c.holidays
                else None,
            )
            for name, c in parsed.calendars.items()
        }
        names = {m.id: (m.name, "team lead") for t in parsed.teams for m in t.members}
        names |= {c.id: (c.name, c.role) for c in parsed.escalation_contacts}
        return cls(
            teams=tuple(
                Team(
                    id=t.id,
                    name=t.name,
                    categories=tuple(t.categories),
                    handles_abuse=t.handles_abuse,
                    members=tuple(
                        Handler(
                            id=m.id,
                            name=m.name,
                            team_id=t.id,
                            languages=tuple(m.languages),
                            capacity=m.capacity,
                            vulnerability_trained=m.vulnerability_trained,
                            max_severity=m.max_severity,
                            products=tuple(m.products),
                            regimes=tuple(m.regimes),
                            presence=m.presence,
                            working_hours=hours.get(m.calendar or t.calendar or "", ALWAYS),
                        )
                        for m in t.members
                    ),
                    escalation_chain=tuple(
                        Contact(i, names[i][0], names[i][1]) for i in t.escalation_chain
                    ),
                )
                for t in parsed.teams
            ),
            default_team_id=parsed.default_team,
            executive_sample_percent=parsed.executive_sample_percent,
            severity_weights=MappingProxyType(dict(parsed.severity_weights)),
            absence_grace=dt.timedelta(minutes=parsed.absence_grace_minutes),
        )
