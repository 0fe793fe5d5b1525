"""A complaint as an upstream system submits it, and the rules it must satisfy."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kintsugi.common import names

CHANNELS = frozenset(names.CHANNELS)
# How far ahead of our clock a stated receipt time may be before we call it wrong:
# upstream clocks drift, but a complaint received tomorrow is a bug upstream.
ALLOWED_CLOCK_SKEW = timedelta(minutes=5)
MAX_DESCRIPTION_CHARS = 20_000

_SOURCE_SYSTEM = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_JURISDICTION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")


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


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One broken rule: ``field`` is the request's field path, ``rule`` says what is wanted."""

    field: str
    rule: str


class InvalidSubmission(ValueError):
    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.rule}" for v in violations))


def validate(submission: Submission, now: datetime) -> list[FieldViolation]:
    """Every rule the submission breaks, so the caller can fix them all in one go."""
    violations: list[FieldViolation] = []

    def require(ok: bool, field_path: str, rule: str) -> None:
        if not ok:
            violations.append(FieldViolation(field_path, rule))

    require(
        bool(_SOURCE_SYSTEM.match(submission.source_system)),
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
    require(
        bool(_JURISDICTION.match(submission.jurisdiction)),
        "jurisdiction",
        "required: ISO 3166 country or subdivision code such as 'GB-ENG', 'US' or 'AU-NSW'",
    )
    violations.extend(_customer_violations(submission))
    if submission.received_at is None:
        violations.append(
            FieldViolation("received_at", "required: the firm's receipt time of the complaint")
        )
    elif submission.received_at > now + ALLOWED_CLOCK_SKEW:
        violations.append(
            FieldViolation("received_at", "must not be in the future (receipt time is a fact)")
        )
    return violations


def _customer_violations(submission: Submission) -> list[FieldViolation]:
    customer = submission.customer
    violations: list[FieldViolation] = []
    if not customer.customer_id:
        violations.append(FieldViolation("customer.customer_id", "required"))
    if not customer.display_name.strip():
        violations.append(
            FieldViolation("customer.display_name", "required: we address the customer by name")
        )
    if customer.email and not _EMAIL.match(customer.email):
        violations.append(FieldViolation("customer.email", "must be an email address"))
    if customer.phone and not _PHONE.match(customer.phone):
        violations.append(
            FieldViolation("customer.phone", "must be in E.164 form, e.g. +447700900123")
        )
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
