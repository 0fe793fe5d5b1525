"""Rules every request field obeys, whatever the request: one line, a language, a phone.

Each check returns the rule a value breaks (what is wanted), or ``None``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import langcodes
import phonenumbers

# How far ahead of our clock a stated time may be before we call it wrong: upstream
# clocks drift, but a complaint received tomorrow is a bug upstream.
ALLOWED_CLOCK_SKEW = timedelta(minutes=5)
DEFAULT_MAX_AGE = timedelta(days=90)

# RFC 5646 well-formed syntax (without the irregular grandfathered tags), checked before
# the registry, which would otherwise accept "en_GB" by normalising it.
_BCP47 = re.compile(
    r"^(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"  # language, extlang
    r"(?:-[A-Za-z]{4})?"  # script
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"  # region
    r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"  # variants
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"  # extensions
    r"(?:-[Xx](?:-[A-Za-z0-9]{1,8})+)?$"  # private use
)
_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
# Line breaks and tabs are allowed in free text; any other control character is not.
_FREE_TEXT_CONTROLS_ALLOWED = frozenset("\n\r\t")


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One broken rule: ``field`` is the request's field path, ``rule`` says what is wanted."""

    field: str
    rule: str


class InvalidRequest(ValueError):
    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.rule}" for v in violations))


@dataclass(frozen=True, slots=True)
class InputRules:
    """What the deployment accepts: the jurisdictions with a business calendar, and how old
    a stated time may be (a 1990 receipt time would breach every clock at once)."""

    jurisdictions: frozenset[str]
    max_age: timedelta = DEFAULT_MAX_AGE


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp")


def single_line_rule(value: str) -> str | None:
    """Names, ids and subjects end up in headers, CSV exports and log lines: one line."""
    if any(_is_control(c) for c in value):
        return "must be one line without control characters (CR, LF, tab, ...)"
    return None


def free_text_rule(value: str) -> str | None:
    if any(_is_control(c) and c not in _FREE_TEXT_CONTROLS_ALLOWED for c in value):
        return "must not contain control characters other than line breaks and tabs"
    return None


# RFC 5646 4.4.1: 35 characters hold any tag worth storing; checked before the pattern.
MAX_LANGUAGE_TAG_CHARS = 35


def language_tag_rule(tag: str) -> str | None:
    if len(tag) <= MAX_LANGUAGE_TAG_CHARS and _BCP47.match(tag) and langcodes.tag_is_valid(tag):
        return None
    return "must be a BCP 47 language tag of registered subtags, e.g. 'en-GB', 'cy', 'zh-Hant'"


def phone_rule(number: str) -> str | None:
    rule = "must be an E.164 number: '+', country code, number, no spaces, e.g. +447700900123"
    if not _E164.match(number):
        return rule
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return rule + " (unknown country code)"
    if not phonenumbers.is_possible_number(parsed):
        return rule + " (wrong length for its country)"
    if phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) != number:
        return rule + " (without the national trunk prefix, e.g. no 0 after +44)"
    return None


def time_rule(instant: datetime, now: datetime, max_age: timedelta) -> str | None:
    if instant > now + ALLOWED_CLOCK_SKEW:
        return "must not be in the future (it is a fact, stated by the upstream system)"
    if instant < now - max_age:
        return f"must not be more than {max_age.days} days ago (clocks would breach at once)"
    return None
