"""A complaint as an upstream system submits it, and the rules it must satisfy."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from kintsugi.common import names
from services.intake.domain.rules import (
    ALLOWED_CLOCK_SKEW,
    FieldViolation,
    InputRules,
    InvalidRequest,
    free_text_rule,
    language_tag_rule,
    phone_rule,
    single_line_rule,
    time_rule,
)

__all__ = [
    "ALLOWED_CLOCK_SKEW",
    "MAX_DESCRIPTION_CHARS",
    "Customer",
    "FieldViolation",
    "InputRules",
    "InvalidSubmission",
    "Submission",
    "validate",
]

CHANNELS = frozenset(names.CHANNELS)
MAX_DESCRIPTION_CHARS = 20_000
# Every field is bounded, so the events of the largest valid request fit a Kafka record
# (1 MB by default) many times over: an oversized field is refused as a broken rule, not
# answered "UNAVAILABLE, retry" forever by a broker refusing the record.
MAX_CHARS = {
    "customer.customer_id": 128,
    "customer.display_name": 200,
    "customer.email": 254,  # RFC 5321's limit on a path
    "customer.social_handle": 128,
    "subject": 500,
    "product": 128,
}
MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_KEY_CHARS = 64
MAX_ATTRIBUTE_VALUE_CHARS = 512

SOURCE_SYSTEM = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_JURISDICTION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

InvalidSubmission = InvalidRequest


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    display_name: str
    email: str = ""
    phone: str = ""
    social_handle: str = ""
    preferred_language: str = ""
    declared_vulnerable: bool = False


@dataclass(frozen=True, slots=True)
class Submission:
    source_system: str
    source_reference: str
    customer: Customer
    channel: str
    subject: str
    description: str
    product: str
    jurisdiction: str
    received_at: datetime | None
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def country(self) -> str:
        return self.jurisdiction.split("-", 1)[0]


def validate(submission: Submission, now: datetime, rules: InputRules) -> list[FieldViolation]:
    """Every rule the submission breaks, so the caller can fix them all in one go."""
    violations: list[FieldViolation] = []

    def require(ok: bool, field_path: str, rule: str) -> None:
        if not ok:
            violations.append(FieldViolation(field_path, rule))

    require(
        bool(SOURCE_SYSTEM.match(submission.source_system)),
        "source_system",
        "required: 1-64 characters of a-z, 0-9, '.', '_' or '-', starting alphanumeric",
    )
    require(
        0 < len(submission.source_reference) <= 128,
        "source_reference",
        "required: the upstream system's own reference, at most 128 characters",
    )
    require(
        submission.channel in CHANNELS,
        "channel",
        "required: the channel the customer used (CHANNEL_UNSPECIFIED is not allowed)",
    )
    require(
        bool(submission.description.strip()),
        "description",
        "required: the customer's complaint in their words",
    )
    require(
        len(submission.description) <= MAX_DESCRIPTION_CHARS,
        "description",
        f"at most {MAX_DESCRIPTION_CHARS} characters",
    )
    violations.extend(_jurisdiction_violations(submission.jurisdiction, rules))
    violations.extend(_customer_violations(submission))
    if submission.received_at is None:
        violations.append(
            FieldViolation("received_at", "required: the firm's receipt time of the complaint")
        )
    elif (broken := time_rule(submission.received_at, now, rules.max_age)) is not None:
        violations.append(FieldViolation("received_at", broken))
    violations.extend(_length_violations(submission))
    violations.extend(_text_violations(submission))
    return _first_per_field(violations)


def _jurisdiction_violations(jurisdiction: str, rules: InputRules) -> list[FieldViolation]:
    if not _JURISDICTION.match(jurisdiction):
        rule = "required: ISO 3166 country or subdivision code such as 'GB-ENG', 'US' or 'AU-NSW'"
        return [FieldViolation("jurisdiction", rule)]
    if jurisdiction not in rules.jurisdictions:
        known = ", ".join(sorted(rules.jurisdictions))
        rule = f"must be a jurisdiction with a business calendar: one of {known}"
        return [FieldViolation("jurisdiction", rule)]
    return []


def _customer_violations(submission: Submission) -> list[FieldViolation]:
    customer = submission.customer
    violations: list[FieldViolation] = []
    if not customer.customer_id:
        violations.append(FieldViolation("customer.customer_id", "required"))
    if not customer.display_name.strip():
        violations.append(
            FieldViolation("customer.display_name", "required: we address the customer by name")
        )
    if customer.email and (
        len(customer.email) > MAX_CHARS["customer.email"] or not _EMAIL.match(customer.email)
    ):
        violations.append(FieldViolation("customer.email", "must be an email address"))
    if customer.phone and (broken := phone_rule(customer.phone)) is not None:
        violations.append(FieldViolation("customer.phone", broken))
    if customer.preferred_language and (broken := language_tag_rule(customer.preferred_language)):
        violations.append(FieldViolation("customer.preferred_language", broken))
    # We reply on the channel the customer chose, so we need its address.
    needs = {
        "email": ("customer.email", customer.email),
        "web_form": ("customer.email", customer.email),
        "sms": ("customer.phone", customer.phone),
        "phone": ("customer.phone", customer.phone),
        "social_public": ("customer.social_handle", customer.social_handle),
        "social_private": ("customer.social_handle", customer.social_handle),
    }.get(submission.channel)
    if needs is not None and not needs[1]:
        violations.append(
            FieldViolation(needs[0], f"required to reply on channel '{submission.channel}'")
        )
    return violations


def _length_violations(submission: Submission) -> list[FieldViolation]:
    customer = submission.customer
    values = {
        "customer.customer_id": customer.customer_id,
        "customer.display_name": customer.display_name,
        "customer.email": customer.email,
        "customer.social_handle": customer.social_handle,
        "subject": submission.subject,
        "product": submission.product,
    }
    violations = [
        FieldViolation(path, f"at most {MAX_CHARS[path]} characters")
        for path, value in values.items()
        if len(value) > MAX_CHARS[path]
    ]
    if len(submission.attributes) > MAX_ATTRIBUTES:
        # Named once: a rule per entry of thousands would say nothing more, at length.
        return [*violations, FieldViolation("attributes", f"at most {MAX_ATTRIBUTES} entries")]
    for key, value in sorted(submission.attributes.items()):
        if len(key) > MAX_ATTRIBUTE_KEY_CHARS or len(value) > MAX_ATTRIBUTE_VALUE_CHARS:
            rule = (
                f"keys of at most {MAX_ATTRIBUTE_KEY_CHARS} characters, "
                f"values of at most {MAX_ATTRIBUTE_VALUE_CHARS}"
            )
            violations.append(
                FieldViolation(f"attributes[{key[:MAX_ATTRIBUTE_KEY_CHARS]!r}]", rule)
            )
    return violations


def _text_violations(submission: Submission) -> list[FieldViolation]:
    customer = submission.customer
    checks: list[tuple[str, str, Callable[[str], str | None]]] = [
        ("source_reference", submission.source_reference, single_line_rule),
        ("customer.customer_id", customer.customer_id, single_line_rule),
        ("customer.display_name", customer.display_name, single_line_rule),
        ("customer.email", customer.email, single_line_rule),
        ("customer.social_handle", customer.social_handle, single_line_rule),
        ("subject", submission.subject, single_line_rule),
        ("product", submission.product, single_line_rule),
        ("description", submission.description, free_text_rule),
    ]
    if len(submission.attributes) <= MAX_ATTRIBUTES:
        for key, value in sorted(submission.attributes.items()):
            checks.append(
                (f"attributes[{key[:MAX_ATTRIBUTE_KEY_CHARS]!r}]", key + value, single_line_rule)
            )
    return [
        FieldViolation(path, broken)
        for path, value, rule in checks
        if (broken := rule(value)) is not None
    ]


def _first_per_field(violations: list[FieldViolation]) -> list[FieldViolation]:
    """One violation per field and rule (a field may break several rules; each is named)."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for violation in violations:
        if (violation.field, violation.rule) not in seen:
            seen.add((violation.field, violation.rule))
            unique.append(violation)
    return unique
