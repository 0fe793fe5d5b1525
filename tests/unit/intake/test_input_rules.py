"""Strict, honest input: receipt times, one-line fields, language tags, phone numbers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kintsugi.common.names import UNKNOWN
from kintsugi.common.vocabulary import channel_name, severity_name, status_name
from services.intake.domain.rules import (
    ALLOWED_CLOCK_SKEW,
    InputRules,
    language_tag_rule,
    phone_rule,
)
from services.intake.domain.submission import FieldViolation, Submission, validate
from tests.unit.intake.factories import NOW, RULES, a_customer, a_submission


def fields_broken(submission: Submission, rules: InputRules = RULES) -> list[str]:
    return [v.field for v in validate(submission, NOW, rules)]


class TestReceiptTime:
    def test_by_default_90_days_ago_is_accepted_and_a_second_earlier_is_not(self) -> None:
        ninety_days = NOW - timedelta(days=90)

        assert fields_broken(a_submission(received_at=ninety_days)) == []
        assert fields_broken(a_submission(received_at=ninety_days - timedelta(seconds=1))) == [
            "received_at"
        ]

    def test_a_receipt_time_from_1990_is_refused_because_every_clock_would_breach(
        self,
    ) -> None:
        [violation] = validate(
            a_submission(received_at=datetime(1990, 1, 1, tzinfo=NOW.tzinfo)), NOW, RULES
        )

        assert violation == FieldViolation(
            "received_at", "must not be more than 90 days ago (clocks would breach at once)"
        )

    def test_the_maximum_age_is_the_deployments_choice(self) -> None:
        strict = InputRules(RULES.jurisdictions, max_age=timedelta(days=7))
        eight_days_ago = a_submission(received_at=NOW - timedelta(days=8))

        assert fields_broken(eight_days_ago) == []
        assert fields_broken(eight_days_ago, strict) == ["received_at"]

    @pytest.mark.parametrize(
        ("offset", "refused"),
        [
            (ALLOWED_CLOCK_SKEW, False),
            (ALLOWED_CLOCK_SKEW + timedelta(seconds=1), True),
            (timedelta(days=1), True),
        ],
    )
    def test_a_receipt_time_in_the_future_is_refused_beyond_clock_skew(
        self, offset: timedelta, refused: bool
    ) -> None:
        assert fields_broken(a_submission(received_at=NOW + offset)) == (
            ["received_at"] if refused else []
        )


SINGLE_LINE_FIELDS = {
    "source_reference": lambda v: a_submission(source_reference=v),
    "subject": lambda v: a_submission(subject=v),
    "product": lambda v: a_submission(product=v),
    "customer.customer_id": lambda v: a_submission(customer=a_customer(customer_id=v)),
    "customer.display_name": lambda v: a_submission(customer=a_customer(display_name=v)),
    "customer.social_handle": lambda v: a_submission(customer=a_customer(social_handle=v)),
}


class TestControlCharacters:
    @pytest.mark.parametrize("field", sorted(SINGLE_LINE_FIELDS))
    @pytest.mark.parametrize(
        "breaking", ["\r\n", "\n", "\r", "\t", "\x00", "\x1b", "\u2028", "\x85"]
    )
    def test_single_line_fields_refuse_line_breaks_and_control_characters(
        self, field: str, breaking: str
    ) -> None:
        submission = SINGLE_LINE_FIELDS[field](f"Jane{breaking}Bcc: everyone")

        violations = validate(submission, NOW, RULES)

        assert [v.field for v in violations] == [field]
        assert "one line" in violations[0].rule

    def test_an_attribute_is_named_by_its_key(self) -> None:
        submission = a_submission(attributes={"queue": "retail\r\nX-Injected: 1"})

        assert fields_broken(submission) == ["attributes['queue']"]

    def test_the_description_keeps_its_line_breaks_and_tabs(self) -> None:
        assert fields_broken(a_submission(description="Dear Sir,\r\n\tI was charged.\n")) == []

    @pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b[31m"])
    def test_the_description_refuses_other_control_characters(self, control: str) -> None:
        assert fields_broken(a_submission(description=f"charged{control} twice")) == ["description"]

    @given(st.text(alphabet=st.characters(exclude_categories=["Cc", "Cs", "Zl", "Zp"])))
    def test_any_printable_subject_is_accepted(self, subject: str) -> None:
        assert fields_broken(a_submission(subject=subject)) == []


class TestLanguageTags:
    @pytest.mark.parametrize(
        "tag", ["en", "en-GB", "cy", "gd", "zh-Hant-TW", "es-419", "sr-Latn-RS", "tlh"]
    )
    def test_registered_bcp47_tags_are_accepted(self, tag: str) -> None:
        assert language_tag_rule(tag) is None
        assert fields_broken(a_submission(customer=a_customer(preferred_language=tag))) == []

    @pytest.mark.parametrize(
        "tag", ["klingon!!", "en_GB", "english", "xx", "en-", "e", "en-GB-", "12"]
    )
    def test_anything_else_is_refused(self, tag: str) -> None:
        submission = a_submission(customer=a_customer(preferred_language=tag))

        violations = validate(submission, NOW, RULES)

        assert [v.field for v in violations] == ["customer.preferred_language"]
        assert "BCP 47" in violations[0].rule

    def test_no_preference_is_allowed(self) -> None:
        assert fields_broken(a_submission(customer=a_customer(preferred_language=""))) == []


class TestPhoneNumbers:
    @pytest.mark.parametrize(
        "number", ["+447700900123", "+12025550123", "+61412345678", "+3906123456"]
    )
    def test_e164_numbers_are_accepted(self, number: str) -> None:
        assert phone_rule(number) is None

    @pytest.mark.parametrize(
        ("number", "says"),
        [
            ("07700 900123", "E.164"),
            ("+44 7700 900123", "no spaces"),
            ("447700900123", "'+'"),
            ("+4407700900123", "trunk prefix"),
            ("+44770", "wrong length"),
            ("+999123456789", "unknown country code"),
            ("+44770090012345678", "E.164"),
        ],
    )
    def test_anything_else_is_refused_saying_why(self, number: str, says: str) -> None:
        submission = a_submission(customer=a_customer(phone=number))

        violations = validate(submission, NOW, RULES)

        assert [v.field for v in violations] == ["customer.phone"]
        assert says in violations[0].rule


def test_everything_an_integrator_saw_accepted_is_now_refused_at_once() -> None:
    submission = replace(
        a_submission(subject="Charged\r\nBcc: x"),
        received_at=datetime(1990, 1, 1, tzinfo=NOW.tzinfo),
        customer=a_customer(display_name="Jane\nDoe", preferred_language="klingon!!"),
    )

    assert sorted(fields_broken(submission)) == [
        "customer.display_name",
        "customer.preferred_language",
        "received_at",
        "subject",
    ]


@pytest.mark.parametrize("name", [channel_name, severity_name, status_name])
@pytest.mark.parametrize("value", [0, 999])
def test_unspecified_and_unknown_enum_values_read_as_unknown_everywhere(
    name: object, value: int
) -> None:
    assert callable(name)
    assert name(value) == UNKNOWN
