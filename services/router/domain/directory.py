"""Teams and people who handle complaints, loaded from a YAML directory file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class DirectoryError(ValueError):
    """The directory file is unusable; the message names the file, the path and the rule."""


class _Handler(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    languages: list[str] = Field(min_length=1)
    capacity: int = Field(gt=0)
    vulnerability_trained: bool = False
    max_severity: str = Field(default="critical", pattern="^(low|medium|high|critical)$")


class _Team(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    categories: list[str] = Field(default_factory=list)
    handles_abuse: bool = False
    members: list[_Handler] = Field(min_length=1)


class _Directory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    default_team: str
    executive_sample_percent: float = Field(default=5.0, ge=0, le=100)
    teams: list[_Team] = Field(min_length=1)

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


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    name: str
    categories: tuple[str, ...]
    handles_abuse: bool
    members: tuple[Handler, ...]


@dataclass(frozen=True, slots=True)
class Directory:
    teams: tuple[Team, ...]
    default_team_id: str
    executive_sample_percent: float

    def team(self, team_id: str) -> Team:
        return next(t for t in self.teams if t.id == team_id)

    def handler(self, handler_id: str) -> Handler | None:
        return next((h for t in self.teams for h in t.members if h.id == handler_id), None)

    @classmethod
    def load(cls, path: Path) -> Directory:
        try:
            raw = yaml.safe_load(path.read_text())
            parsed = _Directory.model_validate(raw)
        except (OSError, yaml.YAMLError) as error:
            raise DirectoryError(f"{path}: cannot read directory: {error}") from error
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
                for e in error.errors()
            )
            raise DirectoryError(f"{path}: {problems}") from error
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
                        )
                        for m in t.members
                    ),
                )
                for t in parsed.teams
            ),
            default_team_id=parsed.default_team,
            executive_sample_percent=parsed.executive_sample_percent,
        )
