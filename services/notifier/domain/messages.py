"""Composing customer messages: personal, owned language, signed by a named person.

Templates live in ``templates/<locale>/<purpose>.<form>.j2``: ``long`` for email and
letters (first line is the subject), ``short`` for SMS, chat and private social messages,
``public`` for a public reply; ``staff/<purpose>.j2`` for messages to colleagues (by
email, first line the subject). Every value that came from a customer or upstream system
is sanitised before rendering (``sanitize``); the subject is flattened to one line. The
templates are linted when they load (``lint``) so a bad one stops start-up, not a send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notifier.domain.case import Case
from services.notifier.domain.planner import Planned
from services.notifier.domain.regimes import wording
from services.notifier.domain.sanitize import body_text, header_text
from services.notifier.domain.staff import FAILED_PURPOSE, LEVEL, REASONS, STAFF_NAME

# Staff messages come from the system, not from a complaint handler.
STAFF_SIGNATURE = "Kintsugi"

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LOCALES = ("en-GB", "en-US", "en-AU")
LONG_CHANNELS = frozenset({"email", "letter"})
PUBLIC_CHANNELS = frozenset({"social_public"})
# The longest message each short form may render to: three SMS segments; a public post.
LENGTH_LIMITS = {"short": 459, "public": 280}

# The language we write in when the customer did not say: the regime's country.
_REGIME_LOCALE = {
    "uk-fca-disp": "en-GB",
    "uk-psd2-emoney": "en-GB",
    "us-cfpb": "en-US",
    "au-asic-rg271": "en-AU",
}
_LOCALE_ZONE = {"en-GB": "Europe/London", "en-US": "America/New_York", "en-AU": "Australia/Sydney"}


def locale_for(case: Case) -> str:
    wanted = case.language.replace("_", "-").lower()
    for locale in LOCALES:
        if wanted == locale.lower():
            return locale
    return _REGIME_LOCALE.get(case.regime, "en-GB")


def zone_for(case: Case) -> ZoneInfo:
    """The customer's time zone, as near as we know it: their locale's country."""
    return ZoneInfo(_LOCALE_ZONE[locale_for(case)])


def form_for(channel: str) -> str:
    if channel in LONG_CHANNELS:
        return "long"
    return "public" if channel in PUBLIC_CHANNELS else "short"


def template_name(locale: str, purpose: str, form: str) -> str:
    return f"{locale}/{purpose}.{form}.j2"


def format_date(iso: str, locale: str) -> str:
    """A date as the customer reads it, in their country's time zone."""
    at = datetime.fromisoformat(iso).astimezone(ZoneInfo(_LOCALE_ZONE[locale]))
    if locale == "en-US":
        return f"{at:%A}, {at:%B} {at.day}, {at.year}"
    return f"{at:%A} {at.day} {at:%B} {at.year}"


@dataclass(frozen=True, slots=True)
class ComposedMessage:
    subject: str
    body: str
    signed_by: str


class MessageTooLong(ValueError):
    pass


def make_environment(templates: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(templates),
        undefined=StrictUndefined,
        # Plain-text email, SMS and letters; an HTML template would be escaped.
        autoescape=select_autoescape(["html", "htm"], default_for_string=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        # Templates ship with the code and are linted at start-up: no stat per message.
        auto_reload=False,
    )


class MessageComposer:
    def __init__(self, organisation: str, templates: Path = TEMPLATES) -> None:
        self._organisation = header_text(organisation)
        self._env = make_environment(templates)

    def signer(self, case: Case) -> str:
        return header_text(case.handler_name) or f"The {self._organisation} complaints team"

    def compose(self, case: Case, planned: Planned, channel: str) -> ComposedMessage:
        locale = locale_for(case)
        form = form_for(channel)
        signed_by = self.signer(case)
        regime = wording(case.regime, case.category)
        dates = {
            key: format_date(value, locale)
            for key, value in planned.facts.items()
            if key in ("deadline", "next_update_by", "resolved_at")
        }
        text = self._env.get_template(template_name(locale, planned.purpose, form)).render(
            customer_name=header_text(case.customer_name) or "there",
            complaint_subject=header_text(case.subject),
            reference=case.reference,
            handler_name=header_text(case.handler_name),
            team_name=header_text(case.team_name),
            organisation=self._organisation,
            signed_by=signed_by,
            channel=channel,
            timescales=regime.timescales,
            delay_rights=regime.delay_rights,
            referral_rights=regime.referral_rights,
            rights_short=regime.rights_short,
            dates=dates,
        )
        if form == "long":
            subject, body = _subject_and_body(text)
        else:
            subject, body = "", text.strip() + "\n"
        body = body_text(body)
        limit = LENGTH_LIMITS.get(form)
        if limit is not None and len(body.strip()) > limit:
            raise MessageTooLong(
                f"{template_name(locale, planned.purpose, form)}: {len(body.strip())} "
                f"characters, the {channel} limit is {limit}"
            )
        return ComposedMessage(subject=subject, body=body, signed_by=signed_by)

    def compose_staff(self, case: Case, planned: Planned) -> ComposedMessage:
        """Plain text for a colleague: what to do, for which complaint, and why."""
        facts = planned.facts
        reasons = [body_text(line).strip() for line in facts.get(REASONS, "").split("\n")]
        text = self._env.get_template(f"staff/{planned.purpose}.j2").render(
            staff_name=header_text(facts.get(STAFF_NAME, "")),
            customer_name=header_text(case.customer_name),
            phone=header_text(case.phone),
            complaint_subject=header_text(case.subject),
            reference=case.reference,
            level=facts.get(LEVEL, ""),
            failed_message=facts.get(FAILED_PURPOSE, "message").replace("_", " "),
            reasons=[reason for reason in reasons if reason],
        )
        subject, body = _subject_and_body(text)
        return ComposedMessage(subject=subject, body=body_text(body), signed_by=STAFF_SIGNATURE)


def _subject_and_body(text: str) -> tuple[str, str]:
    """A long form's first line is its subject."""
    subject, _, body = text.partition("\n")
    return header_text(subject.removeprefix("Subject:")), body.lstrip("\n")
