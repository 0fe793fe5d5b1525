"""Start-up checks on the message templates: owned language, every message present.

PRODUCT rule 7: "we made a mistake", never "they" or "corporate policy" - to customers and
to colleagues alike (``staff/`` templates are linted too). A template that
blames, hides behind policy or uses jargon fails start-up with file:line and the rule, so
it is fixed before any customer reads it. Length limits are checked by rendering each
short template with deliberately long sample values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from services.notifier.domain.case import Case
from services.notifier.domain.messages import (
    LOCALES,
    TEMPLATES,
    MessageComposer,
    MessageTooLong,
    form_for,
    template_name,
)
from services.notifier.domain.planner import Planned
from services.notifier.domain.staff import STAFF_PURPOSES

BANNED: dict[str, str] = {
    r"\bthey\b": "blames someone else: say who, or say 'we'",
    r"\bpolicy (states|says|requires)\b": "hides behind policy: explain in our own words",
    r"\bnot our fault\b": "blames: own the problem",
    r"\bnothing we can do\b": "closes the door: say what we will do",
    r"\bunfortunately\b": "a form-letter word: say sorry plainly",
    r"\bas per\b": "jargon: write plainly",
    r"\bper our\b": "jargon: write plainly",
    r"\bkindly\b": "jargon: write plainly",
    r"\bherewith\b": "jargon: write plainly",
    r"\bdo not reply\b": "the customer may always reply",
}

PURPOSE_FORMS: dict[str, tuple[str, ...]] = {
    "acknowledgement": ("email", "sms", "letter"),
    "progress_update": ("email", "sms", "letter"),
    "delay_notice": ("email", "sms", "letter"),
    "holding_response": ("email", "sms", "letter"),
    "final_response": ("email", "sms", "letter"),
    "public_acknowledgement": ("social_public",),
}


@dataclass(frozen=True, slots=True)
class LintProblem:
    where: str  # file:line
    rule: str

    def __str__(self) -> str:
        return f"{self.where}: {self.rule}"


class TemplatesInvalid(ValueError):
    def __init__(self, problems: list[LintProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def lint_source(path: Path, relative: str) -> list[LintProblem]:
    problems = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for pattern, rule in BANNED.items():
            if re.search(pattern, line, flags=re.IGNORECASE):
                problems.append(LintProblem(f"{relative}:{number}", rule))
    return problems


def _longest_case() -> Case:
    return Case(
        complaint_id="00000000-0000-5000-8000-000000000000",
        customer_name="Maximilian Alexander Featherstonehaugh-Worthington",
        channel="email",
        email="x@example.com",
        subject="S" * 120,
        regime="uk-psd2-emoney",
        handler_name="Christopher Montgomery-Richardson",
        team_name="Payments and Electronic Money Disputes",
    )


def lint_templates(templates: Path = TEMPLATES, organisation: str = "Kintsugi") -> None:
    """Raise ``TemplatesInvalid`` naming every problem; return quietly when all is well."""
    problems: list[LintProblem] = []
    for path in sorted(templates.rglob("*.j2")):
        problems.extend(lint_source(path, str(path.relative_to(templates))))
    composer = MessageComposer(organisation, templates)
    when = datetime(2026, 9, 30, 17, tzinfo=UTC).isoformat()
    facts = {"deadline": when, "next_update_by": when, "resolved_at": when}
    for locale in LOCALES:
        case = replace(_longest_case(), language=locale)
        for purpose, channels in PURPOSE_FORMS.items():
            for channel in channels:
                name = template_name(locale, purpose, form_for(channel))
                if not (templates / name).is_file():
                    problems.append(LintProblem(f"{name}:0", "template missing"))
                    continue
                try:
                    composer.compose(case, Planned("lint", purpose, "lint", facts), channel)
                except MessageTooLong as too_long:
                    problems.append(LintProblem(f"{name}:0", str(too_long)))
    # Messages to colleagues: one template each, in the firm's own language.
    staff_facts = {
        "staff_name": "Grace",
        "reasons": "a reason",
        "failed_purpose": "acknowledgement",
    }
    for purpose in sorted(STAFF_PURPOSES):
        name = f"staff/{purpose}.j2"
        if not (templates / name).is_file():
            problems.append(LintProblem(f"{name}:0", "template missing"))
            continue
        composer.compose_staff(_longest_case(), Planned("lint", purpose, "lint", staff_facts))
    if problems:
        raise TemplatesInvalid(problems)
