"""What happened on a complaint upstream, and the rules it must satisfy.

The customer wrote, a handler replied (by email, phone call, letter...), the case changed
status, or someone left an internal note. These facts pause, resume, stop and restart the
sla's clocks, count towards the rule of three, and release a handler's load on resolution.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kintsugi.common import names
from services.intake.domain.rules import (
    FieldViolation,
    InputRules,
    free_text_rule,
    single_line_rule,
    time_rule,
)
from services.intake.domain.submission import SOURCE_SYSTEM

KINDS = ("customer_message", "staff_response", "status_change", "note")
# The lifecycle an upstream system reports; "resolved" carries how it ended.
STATUSES = ("waiting_on_customer", "customer_responded", "resolved", "reopened")
MAX_TEXT_CHARS = 20_000
# One-line fields are bounded too (see submission.MAX_CHARS).
MAX_CHARS = {
    "actor_id": 128,
    "actor_name": 200,
    "status_change.goodwill.kind": 64,
    "status_change.goodwill.reason": 1_000,
}

_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class Goodwill:
    kind: str  # "refund", "voucher", "fee_waiver", ...
    amount: Money
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Activity:
    source_system: str
    source_reference: str
    activity_reference: str
    occurred_at: datetime | None
    actor_id: str
    actor_name: str
    kind: str  # one of KINDS, or names.UNKNOWN
    channel: str = ""  # messages: the channel it went over
    text: str = ""  # message summary or note
    new_status: str = ""  # status changes
    outcome: str = ""  # resolved: one of names.OUTCOMES
    redress: Money | None = None
    goodwill: Goodwill | None = None


def validate_activity(activity: Activity, now: datetime, rules: InputRules) -> list[FieldViolation]:
    """Every rule the activity breaks, each named by its request field path."""
    violations: list[FieldViolation] = []

    def require(ok: bool, field_path: str, rule: str) -> None:
        if not ok:
            violations.append(FieldViolation(field_path, rule))

    require(
        bool(SOURCE_SYSTEM.match(activity.source_system)),
        "source_system",
        "required: 1-64 characters of a-z, 0-9, '.', '_' or '-', starting alphanumeric",
    )
    for path, value in (
        ("source_reference", activity.source_reference),
        ("activity_reference", activity.activity_reference),
    ):
        require(0 < len(value) <= 128, path, "required: the upstream reference, at most 128 chars")
    require(bool(activity.actor_id), "actor_id", "required: who did it (handler or customer id)")
    if activity.occurred_at is None:
        violations.append(FieldViolation("occurred_at", "required: when it happened upstream"))
    elif (broken := time_rule(activity.occurred_at, now, rules.max_age)) is not None:
        violations.append(FieldViolation("occurred_at", broken))
    violations.extend(_kind_violations(activity))
    checks: list[tuple[str, str, Callable[[str], str | None]]] = [
        ("source_reference", activity.source_reference, single_line_rule),
        ("activity_reference", activity.activity_reference, single_line_rule),
        ("actor_id", activity.actor_id, single_line_rule),
        ("actor_name", activity.actor_name, single_line_rule),
    ]
    violations.extend(
        FieldViolation(path, broken) for path, value, rule in checks if (broken := rule(value))
    )
    violations.extend(_length_violations(activity))
    return violations


def _length_violations(activity: Activity) -> list[FieldViolation]:
    goodwill = activity.goodwill
    values = {
        "actor_id": activity.actor_id,
        "actor_name": activity.actor_name,
        "status_change.goodwill.kind": goodwill.kind if goodwill else "",
        "status_change.goodwill.reason": goodwill.reason if goodwill else "",
    }
    return [
        FieldViolation(path, f"at most {MAX_CHARS[path]} characters")
        for path, value in values.items()
        if len(value) > MAX_CHARS[path]
    ]


def _kind_violations(activity: Activity) -> list[FieldViolation]:
    match activity.kind:
        case "customer_message" | "staff_response":
            return _message_violations(activity)
        case "status_change":
            return _status_violations(activity)
        case "note":
            path = "note.text"
            if not activity.text.strip():
                return [FieldViolation(path, "required: the note")]
            return _text_violations(path, activity.text)
        case _:
            return [
                FieldViolation(
                    "activity",
                    "required: one of customer_message, staff_response, status_change, note",
                )
            ]


def _message_violations(activity: Activity) -> list[FieldViolation]:
    violations = []
    if activity.channel not in names.CHANNELS:
        violations.append(
            FieldViolation(
                f"{activity.kind}.channel",
                "required: the channel it went over (CHANNEL_UNSPECIFIED is not allowed)",
            )
        )
    violations.extend(_text_violations(f"{activity.kind}.summary", activity.text))
    return violations


def _text_violations(path: str, text: str) -> list[FieldViolation]:
    violations = []
    if len(text) > MAX_TEXT_CHARS:
        violations.append(FieldViolation(path, f"at most {MAX_TEXT_CHARS} characters"))
    if (broken := free_text_rule(text)) is not None:
        violations.append(FieldViolation(path, broken))
    return violations


def _status_violations(activity: Activity) -> list[FieldViolation]:
    violations = []
    resolved = activity.new_status == "resolved"
    if activity.new_status not in STATUSES:
        wanted = ", ".join("STATUS_" + s.upper() for s in STATUSES)
        violations.append(FieldViolation("status_change.new_status", f"required: one of {wanted}"))
    if resolved and activity.outcome not in names.OUTCOMES:
        wanted = ", ".join("RESOLUTION_OUTCOME_" + o.upper() for o in names.OUTCOMES)
        violations.append(
            FieldViolation("status_change.outcome", f"required on resolution: one of {wanted}")
        )
    only_on_resolution = "only with new_status STATUS_RESOLVED"
    if not resolved:
        for path, present in (
            ("status_change.outcome", bool(activity.outcome)),
            ("status_change.redress", activity.redress is not None),
            ("status_change.goodwill", activity.goodwill is not None),
        ):
            if present:
                violations.append(FieldViolation(path, only_on_resolution))
    if activity.redress is not None:
        violations.extend(_money_violations("status_change.redress", activity.redress))
    if activity.goodwill is not None:
        goodwill = activity.goodwill
        if not goodwill.kind.strip():
            violations.append(
                FieldViolation("status_change.goodwill.kind", "required: refund, voucher, ...")
            )
        violations.extend(_money_violations("status_change.goodwill", goodwill.amount))
    return violations


def _money_violations(path: str, money: Money) -> list[FieldViolation]:
    violations = []
    if money.amount_minor < 0:
        violations.append(FieldViolation(f"{path}.amount_minor", "must not be negative"))
    if not _CURRENCY.match(money.currency):
        violations.append(
            FieldViolation(f"{path}.currency", "required: ISO 4217 code such as 'GBP'")
        )
    return violations
