"""validate(): every broken rule is named, by field and rule, so the caller can fix them all."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.intake.domain.submission import (
    ALLOWED_CLOCK_SKEW,
    MAX_DESCRIPTION_CHARS,
    FieldViolation,
    InvalidSubmission,
    Submission,
    validate,
)
from tests.unit.intake.factories import NOW, RULES, a_customer, a_submission


def violations_of(submission: Submission) -> list[FieldViolation]:
    return validate(submission, NOW, RULES)


def test_a_complete_submission_breaks_no_rule() -> None:
    assert violations_of(a_submission()) == []


@pytest.mark.parametrize(
    ("submission", "field", "rule_mentions"),
    [
        pytest.param(
            a_submission(source_system=""), "source_system", "required", id="no-source-system"
        ),
        pytest.param(
            a_submission(source_system="CRM"), "source_system", "a-z", id="upper-case-source"
        ),
        pytest.param(
            a_submission(source_system="-crm"),
            "source_system",
            "starting alphanumeric",
            id="source-starts-with-dash",
        ),
        pytest.param(
            a_submission(source_system="c" * 65), "source_system", "1-64", id="source-too-long"
        ),
        pytest.param(
            a_submission(source_reference=""),
            "source_reference",
            "upstream system's own reference",
            id="no-reference",
        ),
        pytest.param(
            a_submission(source_reference="r" * 129),
            "source_reference",
            "at most 128",
            id="reference-too-long",
        ),
        pytest.param(a_submission(channel=""), "channel", "CHANNEL_UNSPECIFIED", id="no-channel"),
        pytest.param(
            a_submission(channel="carrier_pigeon"),
            "channel",
            "channel the customer used",
            id="unknown-channel",
        ),
        pytest.param(
            a_submission(description=""), "description", "in their words", id="no-description"
        ),
        pytest.param(
            a_submission(description=" \n\t "),
            "description",
            "in their words",
            id="blank-description",
        ),
        pytest.param(
            a_submission(description="x" * (MAX_DESCRIPTION_CHARS + 1)),
            "description",
            f"at most {MAX_DESCRIPTION_CHARS} characters",
            id="description-too-long",
        ),
        pytest.param(a_submission(jurisdiction=""), "jurisdiction", "ISO 3166", id="no-place"),
        pytest.param(
            a_submission(jurisdiction="England"), "jurisdiction", "ISO 3166", id="place-name"
        ),
        pytest.param(
            a_submission(jurisdiction="gb"), "jurisdiction", "'GB-ENG'", id="lower-case-country"
        ),
        pytest.param(
            a_submission(customer=a_customer(customer_id="")),
            "customer.customer_id",
            "required",
            id="no-customer-id",
        ),
        pytest.param(
            a_submission(customer=a_customer(display_name="  ")),
            "customer.display_name",
            "address the customer by name",
            id="no-name",
        ),
        pytest.param(
            a_submission(customer=a_customer(email="jane at example.com")),
            "customer.email",
            "email address",
            id="malformed-email",
        ),
        pytest.param(
            a_submission(customer=a_customer(phone="07700 900123")),
            "customer.phone",
            "E.164",
            id="national-phone-format",
        ),
        pytest.param(
            a_submission(received_at=None),
            "received_at",
            "receipt time",
            id="no-receipt-time",
        ),
        pytest.param(
            a_submission(received_at=NOW + ALLOWED_CLOCK_SKEW + timedelta(seconds=1)),
            "received_at",
            "must not be in the future",
            id="received-in-the-future",
        ),
    ],
)
def test_each_broken_rule_names_the_field_and_what_is_wanted(
    submission: Submission, field: str, rule_mentions: str
) -> None:
    violations = violations_of(submission)

    assert [v.field for v in violations] == [field]
    assert rule_mentions in violations[0].rule


@pytest.mark.parametrize(
    ("channel", "blank_contact", "field"),
    [
        ("email", {"email": ""}, "customer.email"),
        ("web_form", {"email": ""}, "customer.email"),
        ("sms", {"phone": ""}, "customer.phone"),
        ("phone", {"phone": ""}, "customer.phone"),
        ("social_public", {"social_handle": ""}, "customer.social_handle"),
        ("social_private", {"social_handle": ""}, "customer.social_handle"),
    ],
)
def test_we_need_the_address_of_the_channel_the_customer_chose_to_reply_on_it(
    channel: str, blank_contact: dict[str, str], field: str
) -> None:
    submission = a_submission(channel=channel, customer=a_customer(**blank_contact))

    assert violations_of(submission) == [
        FieldViolation(field, f"required to reply on channel '{channel}'")
    ]


@pytest.mark.parametrize("channel", ["letter", "chat", "branch"])
def test_channels_we_answer_in_person_or_by_post_need_no_electronic_address(channel: str) -> None:
    customer = a_customer(email="", phone="", social_handle="")

    assert violations_of(a_submission(channel=channel, customer=customer)) == []


def test_every_broken_rule_is_reported_at_once_not_one_per_attempt() -> None:
    submission = a_submission(
        source_system="",
        channel="",
        description="",
        jurisdiction="",
        received_at=None,
        customer=a_customer(customer_id="", display_name=""),
    )

    assert [v.field for v in violations_of(submission)] == [
        "source_system",
        "channel",
        "description",
        "jurisdiction",
        "customer.customer_id",
        "customer.display_name",
        "received_at",
    ]


@pytest.mark.parametrize("jurisdiction", sorted(RULES.jurisdictions))
def test_every_jurisdiction_the_sla_has_a_calendar_for_is_accepted(jurisdiction: str) -> None:
    assert violations_of(a_submission(jurisdiction=jurisdiction)) == []


@pytest.mark.parametrize("jurisdiction", ["GB", "US-CA", "FR", "AU"])
def test_a_well_formed_jurisdiction_without_a_calendar_is_refused_naming_the_known_ones(
    jurisdiction: str,
) -> None:
    [violation] = violations_of(a_submission(jurisdiction=jurisdiction))

    assert violation.field == "jurisdiction"
    assert "business calendar" in violation.rule
    assert "GB-ENG" in violation.rule and "AU-NSW" in violation.rule


def test_a_description_of_exactly_the_maximum_length_is_accepted() -> None:
    assert violations_of(a_submission(description="x" * MAX_DESCRIPTION_CHARS)) == []


def test_upstream_clock_drift_within_the_allowed_skew_is_tolerated() -> None:
    assert violations_of(a_submission(received_at=NOW + ALLOWED_CLOCK_SKEW)) == []


def test_a_complaint_received_long_ago_is_still_accepted() -> None:
    # Backlogs get migrated; the regulatory clock then starts at the stated receipt time.
    assert violations_of(a_submission(received_at=NOW - timedelta(days=40))) == []


def test_invalid_submission_message_lists_every_field_and_rule() -> None:
    invalid = InvalidSubmission(
        [FieldViolation("channel", "required"), FieldViolation("customer.email", "bad")]
    )

    assert str(invalid) == "channel: required; customer.email: bad"
    assert isinstance(invalid, ValueError)


def test_country_is_the_jurisdiction_without_its_subdivision() -> None:
    assert a_submission(jurisdiction="AU-NSW").country == "AU"
    assert a_submission(jurisdiction="US").country == "US"
