"""Builders for intake tests: a valid submission, changed only where a test says so."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.intake.domain.submission import Customer, Submission

# Friday 16:58: a complaint at this hour is accepted at once, not on Monday.
NOW = datetime(2025, 3, 14, 16, 58, tzinfo=UTC)


def a_customer(**changes: Any) -> Customer:
    customer = Customer(
        customer_id="cust-001",
        display_name="Jane Doe",
        email="jane.doe@example.com",
        phone="+447700900123",
        social_handle="@janedoe",
        preferred_language="en",
    )
    return replace(customer, **changes)


def a_submission(*, customer: Customer | None = None, **changes: Any) -> Submission:
    submission = Submission(
        source_system="crm",
        source_reference="CASE-1001",
        customer=customer or a_customer(),
        channel="email",
        subject="Card payment declined",
        description="My card was declined at the till and nobody has explained why.",
        product="loan",
        jurisdiction="GB-ENG",
        received_at=NOW - timedelta(minutes=3),
        attributes={"crm_queue": "retail"},
    )
    return replace(submission, **changes)


def saying(text: str, **changes: Any) -> Submission:
    """A submission whose whole complaint text is ``text`` (no subject)."""
    return a_submission(subject="", description=text, **changes)
