"""Which channel a message goes out on: the one the customer used, else a fallback.

PRODUCT rule 4: reply on the channel the customer chose. Phone and branch complaints get a
written reply on the best contact point we know. When a channel fails for good for a
message (a bounced address), the next channel in its fallback order takes over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.notifier.domain.case import Case

# For each channel a complaint can arrive on: where replies go, in order of preference.
REPLY_ORDER: dict[str, tuple[str, ...]] = {
    "email": ("email", "sms", "letter"),
    "web_form": ("email", "sms", "letter"),
    "sms": ("sms", "email", "letter"),
    "chat": ("chat", "email", "sms", "letter"),
    "social_private": ("social_private", "email", "sms", "letter"),
    # The details of a public complaint go privately; the public reply is its own purpose.
    "social_public": ("social_private", "email", "sms", "letter"),
    "phone": ("email", "sms", "letter"),
    "branch": ("email", "sms", "letter"),
    "letter": ("letter",),
}
FALLBACK_ORDER: tuple[str, ...] = ("email", "sms", "letter")


@dataclass(frozen=True, slots=True)
class Route:
    channel: str
    recipient: str


def recipient_for(case: Case, channel: str) -> str:
    match channel:
        case "email":
            return case.email
        case "sms":
            return case.phone
        case "social_private" | "social_public":
            return case.social_handle
        case "chat":
            # The chat gateway finds the conversation by complaint.
            return case.complaint_id
        case "letter":
            # The print service holds postal addresses; the letter is addressed by name.
            return case.customer_name or case.complaint_id
        case _:
            return ""


def choose_route(case: Case, available: Iterable[str], failed: Iterable[str] = ()) -> Route | None:
    """The first channel in the complaint's reply order that we can send on and that has
    not failed for good for this message; None when none is left."""
    usable = set(available) - set(failed)
    for channel in REPLY_ORDER.get(case.channel, FALLBACK_ORDER):
        recipient = recipient_for(case, channel)
        if channel in usable and recipient:
            return Route(channel, recipient)
    return None


def public_route(case: Case, available: Iterable[str]) -> Route | None:
    public = case.channel == "social_public" and "social_public" in set(available)
    if public and case.social_handle:
        return Route("social_public", case.social_handle)
    return None
