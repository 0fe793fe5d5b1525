"""The acknowledgement: personal, owned language, signed by a named person, with the promise."""

from __future__ import annotations

import re

import pytest

from services.notifier.domain.case import Case
from services.notifier.domain.messages import ComposedMessage, MessageComposer
from services.notifier.domain.planner import Assigned, plan
from tests.unit.notifier.fakes import a_case

ORGANISATION = "Kintsugi Financial"


@pytest.fixture(scope="module")
def composer() -> MessageComposer:
    return MessageComposer(ORGANISATION)


def acknowledgement(composer: MessageComposer, case: Case) -> ComposedMessage:
    [planned] = plan(case, Assigned(case.handler_name, case.team_name))
    return composer.compose(case, planned, "email")


def handled_case(**changes: str) -> Case:
    return a_case(**changes).with_handler("Mei Chen", "Fraud Response")


def test_the_customer_is_addressed_by_name(composer: MessageComposer) -> None:
    body = acknowledgement(composer, handled_case()).body

    assert body.startswith("Dear Jane Doe,\n")


def test_the_message_is_signed_by_the_named_handler_for_the_organisation(
    composer: MessageComposer,
) -> None:
    message = acknowledgement(composer, handled_case())

    assert message.signed_by == "Mei Chen"
    assert message.body.rstrip().splitlines()[-2:] == ["Mei Chen", ORGANISATION]


def test_the_handler_introduces_themselves_and_their_team(composer: MessageComposer) -> None:
    body = acknowledgement(composer, handled_case()).body

    assert "I'm Mei Chen, in our Fraud Response team" in body


def test_the_message_speaks_in_the_first_person_and_owns_the_complaint(
    composer: MessageComposer,
) -> None:
    body = acknowledgement(composer, handled_case()).body

    assert "I will" in body
    assert "I'm sorry" in body
    assert not re.search(r"\bthey\b", body, re.IGNORECASE)
    assert "corporate policy" not in body.lower()
    assert "do not reply" not in body.lower()


def test_the_reference_is_in_the_subject_and_the_body(composer: MessageComposer) -> None:
    case = handled_case()

    message = acknowledgement(composer, case)

    assert case.reference in message.subject
    assert f"Your reference is {case.reference}." in message.body


def test_the_customers_own_subject_is_quoted_back(composer: MessageComposer) -> None:
    assert '("Card declined")' in acknowledgement(composer, handled_case()).body


def test_no_empty_quotes_when_the_customer_gave_no_subject(composer: MessageComposer) -> None:
    assert '("")' not in acknowledgement(composer, handled_case(subject="")).body


@pytest.mark.parametrize(
    ("regime", "promise"),
    [
        ("uk-fca-disp", "within 8 weeks"),
        ("uk-psd2-emoney", "within 15 business days"),
        ("us-cfpb", "within 15 days"),
        ("au-asic-rg271", "within 30 days"),
        ("none", "as quickly as I can"),
        ("", "as quickly as I can"),
    ],
)
def test_the_regimes_deadline_is_promised_in_plain_words(
    composer: MessageComposer, regime: str, promise: str
) -> None:
    body = acknowledgement(composer, handled_case(regime=regime)).body

    assert promise in body


def test_the_customer_is_promised_updates_even_without_news(composer: MessageComposer) -> None:
    body = acknowledgement(composer, handled_case()).body

    assert "even if there is no news" in body


def test_without_a_named_handler_the_team_signs_for_the_organisation(
    composer: MessageComposer,
) -> None:
    message = acknowledgement(composer, a_case())

    assert message.signed_by == f"The {ORGANISATION} complaints team"
    assert "I'm a member of our complaints team" in message.body


@pytest.mark.parametrize(
    ("regime", "category", "promise"),
    [
        ("au-asic-rg271", "fees", "within 30 days"),
        ("au-asic-rg271", "hardship", "within 21 days"),
        ("au-asic-rg271", "default_notice", "within 21 days"),
        ("au-asic-rg271", "superannuation", "within 45 days"),
        ("uk-fca-disp", "hardship", "within 8 weeks of the day you told us"),
        ("none", "fees", "as quickly as I can"),
    ],
)
def test_the_promised_response_time_follows_regime_and_category(
    regime: str, category: str, promise: str
) -> None:
    case = Case(
        complaint_id="c",
        customer_name="Liam",
        channel="email",
        regime=regime,
        category=category,
        handler_name="Priya Shah",
    )
    body = acknowledgement(MessageComposer("Kintsugi Financial"), case).body
    assert promise in body
