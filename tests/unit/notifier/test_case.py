"""Case: what the notifier remembers per complaint, its customer reference, masked emails."""

from __future__ import annotations

import json

import pytest

from services.notifier.domain.case import Case, mask_email
from tests.unit.notifier.fakes import a_case


def test_a_case_with_handler_and_outcomes_survives_a_round_trip_through_bytes() -> None:
    case = (
        a_case(language="cy", social_handle="@jane")
        .with_handler("Mei Chen", "Fraud Response")
        .with_outcome("n-1", "sent")
        .with_outcome("n-2", "rejected")
    )

    assert Case.from_bytes(case.to_bytes()) == case


def test_review_cap_and_deadline_facts_survive_a_round_trip_and_older_state_still_loads() -> None:
    case = a_case(
        customer_key="k-1",
        executive_review=True,
        review_approved=True,
        deadlines={"final_response": "2026-04-27T09:00:00+00:00"},
    )
    assert Case.from_bytes(case.to_bytes()) == case

    older = json.loads(a_case().to_bytes())
    for newer_field in ("customer_key", "executive_review", "review_approved", "deadlines"):
        del older[newer_field]  # written before these fields existed
    restored = Case.from_bytes(json.dumps(older).encode())
    assert not restored.executive_review and restored.deadlines == {}


def test_stored_bytes_carry_a_schema_version() -> None:
    assert json.loads(a_case().to_bytes())["v"] == 1


def test_the_reference_is_short_upper_case_and_easy_to_read_out() -> None:
    case = a_case(complaint_id="5f0c6a8e-2b1d-5e7a-9c3f-1a2b3c4d5e6f")

    assert case.reference == "5F0C6A8E2B"


def test_the_reference_is_stable_for_a_complaint_and_differs_between_complaints() -> None:
    one = a_case(complaint_id="5f0c6a8e-2b1d-5e7a-9c3f-1a2b3c4d5e6f")
    other = a_case(complaint_id="7d2e1f00-9a8b-5c6d-8e7f-0a1b2c3d4e5f")

    assert one.reference == a_case(complaint_id=one.complaint_id).reference
    assert one.reference != other.reference


def test_an_outcome_is_remembered_per_notification() -> None:
    case = a_case().with_outcome("n-1", "sent")

    assert case.outcome("n-1") == "sent"
    assert case.outcome("n-2") is None


def test_recording_an_outcome_leaves_the_earlier_case_untouched() -> None:
    before = a_case()

    after = before.with_outcome("n-1", "sent")

    assert before.outcomes == {}
    assert after.outcomes == {"n-1": "sent"}


def test_with_handler_names_who_signs_and_their_team() -> None:
    case = a_case().with_handler("Mei Chen", "Fraud Response")

    assert (case.handler_name, case.team_name) == ("Mei Chen", "Fraud Response")


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("jane.doe@example.com", "j***@example.com"),
        ("x@bank.co.uk", "x***@bank.co.uk"),
        ("", "***"),
        ("not-an-address", "***"),
    ],
)
def test_a_masked_email_shows_the_domain_and_one_letter_only(address: str, masked: str) -> None:
    assert mask_email(address) == masked
