"""Errors raised by the SLA domain, each naming exactly what is wrong and where."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class PolicyIssue:
    """One broken rule in one policy or calendar file."""

    file: Path | None
    path: str
    rule: str

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file is not None else ""
        return f"{where}{self.path}: {self.rule}"


class PolicyError(Exception):
    """Policies or calendars that cannot be loaded; lists every issue found."""

    def __init__(self, issues: list[PolicyIssue] | tuple[PolicyIssue, ...]) -> None:
        self.issues = tuple(issues)
        count = len(self.issues)
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(f"{count} policy problem{'s' if count != 1 else ''}:\n{lines}")


class ComplaintFactsError(ValueError):
    """Complaint facts the policy set cannot time (unknown regime, jurisdiction, ...)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class CalendarError(ValueError):
    """A calendar question with no answer, e.g. a calendar that never opens."""


class StateError(ValueError):
    """Serialised clock state that cannot be restored against the given policies."""
