"""What intake accepted, as the use case hands it to the adapters that publish it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.classification import Classification
from services.intake.domain.submission import Submission


@dataclass(frozen=True, slots=True)
class AcceptedComplaint:
    complaint_id: str
    submission: Submission
    classification: Classification
    accepted_at: datetime
