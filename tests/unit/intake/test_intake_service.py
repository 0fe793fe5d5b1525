"""Intake.submit: validate, identify deterministically, classify, record through the port."""

from __future__ import annotations

import pytest

from services.intake.domain.classification import classify
from services.intake.domain.submission import InvalidSubmission
from services.intake.service import AcceptedComplaint, Intake, complaint_id_for
from tests.unit.intake.factories import NOW, a_customer, a_submission


class RecordedComplaints:
    """In-memory ``AcceptedComplaints``: remembers what was recorded, in order."""

    def __init__(self) -> None:
        self.recorded: list[AcceptedComplaint] = []

    async def record(self, accepted: AcceptedComplaint) -> None:
        self.recorded.append(accepted)


class UnavailableComplaints:
    async def record(self, accepted: AcceptedComplaint) -> None:
        raise ConnectionError("broker unavailable")


@pytest.fixture
def recorded() -> RecordedComplaints:
    return RecordedComplaints()


@pytest.fixture
def intake(recorded: RecordedComplaints) -> Intake:
    return Intake(recorded, clock=lambda: NOW)


async def test_a_valid_complaint_is_recorded_once_with_its_classification(
    intake: Intake, recorded: RecordedComplaints
) -> None:
    submission = a_submission(description="Someone made unauthorised payments from my card")

    accepted = await intake.submit(submission)

    assert recorded.recorded == [accepted]
    assert accepted.submission == submission
    assert accepted.classification == classify(submission)
    assert accepted.classification.category == "fraud"


async def test_acceptance_time_is_read_from_the_clock_immediately(intake: Intake) -> None:
    accepted = await intake.submit(a_submission())

    assert accepted.accepted_at == NOW


async def test_an_invalid_complaint_is_rejected_naming_every_rule_and_nothing_is_recorded(
    intake: Intake, recorded: RecordedComplaints
) -> None:
    submission = a_submission(channel="", customer=a_customer(display_name=""))

    with pytest.raises(InvalidSubmission) as rejected:
        await intake.submit(submission)

    assert [v.field for v in rejected.value.violations] == ["channel", "customer.display_name"]
    assert recorded.recorded == []


async def test_a_retried_submission_maps_to_the_same_complaint(
    intake: Intake, recorded: RecordedComplaints
) -> None:
    first = await intake.submit(a_submission())
    retry = await intake.submit(a_submission())

    assert first.complaint_id == retry.complaint_id
    assert first.complaint_id == complaint_id_for("crm", "CASE-1001")


async def test_a_failure_to_record_is_raised_not_swallowed() -> None:
    intake = Intake(UnavailableComplaints(), clock=lambda: NOW)

    with pytest.raises(ConnectionError):
        await intake.submit(a_submission())


@pytest.mark.parametrize(
    ("other_system", "other_reference"),
    [("crm", "CASE-1002"), ("webform", "CASE-1001")],
    ids=["other-reference", "other-system"],
)
def test_different_upstream_references_are_different_complaints(
    other_system: str, other_reference: str
) -> None:
    assert complaint_id_for("crm", "CASE-1001") != complaint_id_for(other_system, other_reference)
