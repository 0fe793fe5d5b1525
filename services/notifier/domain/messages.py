"""Composing customer messages: personal, owned language, signed by a named person."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.notifier.domain.case import Case

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# What the customer is promised next, by regime and (where the regulator distinguishes)
# category: the regulator's clock in plain words, as the sla policies count it.
FINAL_RESPONSE_PROMISE = {
    ("uk-fca-disp", ""): "within 8 weeks of the day you told us",
    ("uk-psd2-emoney", ""): "within 15 business days",
    ("us-cfpb", ""): "within 15 days",
    ("au-asic-rg271", ""): "within 30 days",
    ("au-asic-rg271", "hardship"): "within 21 days",
    ("au-asic-rg271", "default_notice"): "within 21 days",
    ("au-asic-rg271", "superannuation"): "within 45 days",
}
DEFAULT_PROMISE = "as quickly as we can, and we will keep you updated along the way"


def final_response_promise(regime: str, category: str) -> str:
    return FINAL_RESPONSE_PROMISE.get(
        (regime, category), FINAL_RESPONSE_PROMISE.get((regime, ""), DEFAULT_PROMISE)
    )


@dataclass(frozen=True, slots=True)
class ComposedMessage:
    subject: str
    body: str
    signed_by: str


class MessageComposer:
    def __init__(self, organisation: str, templates: Path = TEMPLATES) -> None:
        self._organisation = organisation
        self._env = Environment(
            loader=FileSystemLoader(templates),
            undefined=StrictUndefined,
            autoescape=False,  # plain-text email; nothing here is rendered as HTML
            keep_trailing_newline=True,
        )

    def acknowledgement(self, case: Case) -> ComposedMessage:
        signed_by = case.handler_name or f"The {self._organisation} complaints team"
        template = self._env.get_template("acknowledgement.txt.j2")
        body = template.render(
            case=case,
            organisation=self._organisation,
            signed_by=signed_by,
            promise=final_response_promise(case.regime, case.category),
        )
        subject = f"We're on it: your complaint {case.reference}"
        return ComposedMessage(subject=subject, body=body, signed_by=signed_by)
