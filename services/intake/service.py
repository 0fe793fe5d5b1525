"""The intake use case: validate, identify, classify and record a complaint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from kintsugi.common.ids import derived_id
from kintsugi.common.timeutil import Clock
from services.intake.domain.classification import Classification, classify
from services.intake.domain.submission import InvalidSubmission, Submission, validate


@dataclass(frozen=True, slots=True)
class AcceptedComplaint:
    complaint_id: str
    submission: Submission
    classification: Classification
    accepted_at: datetime


class AcceptedComplaints(Protocol):
    """Where accepted complaints are recorded (the complaint-events topic in production)."""

    async def record(self, accepted: AcceptedComplaint) -> None: ...


def complaint_id_for(source_system: str, source_reference: str) -> str:
    """The same upstream submission always maps to the same complaint, so retries are safe."""
    return derived_id("complaint", source_system, source_reference)


class Intake:
    def __init__(self, accepted: AcceptedComplaints, clock: Clock) -> None:
        self._accepted = accepted
        self._clock = clock

    async def submit(self, submission: Submission) -> AcceptedComplaint:
        """Raise ``InvalidSubmission`` naming every broken rule; nothing is recorded then."""
        now = self._clock()
        violations = validate(submission, now)
        if violations:
            raise InvalidSubmission(violations)
        accepted = AcceptedComplaint(
            complaint_id=complaint_id_for(submission.source_system, submission.source_reference),
            submission=submission,
            classification=classify(submission),
            accepted_at=now,
        )
        await self._accepted.record(accepted)
        return accepted
