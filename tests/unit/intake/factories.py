"""Builders for intake tests: a valid submission, changed only where a test says so."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from kintsugi.common.jurisdictions import calendar_ids
from kintsugi.common.timeutil import to_timestamp
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2
from services.intake.config import SLA_CALENDARS
from services.intake.domain.rules import InputRules
from services.intake.domain.submission import Customer, Submission

# Friday 16:58: a complaint at this hour is accepted at once, not on Monday.
NOW = datetime(2025, 3, 14, 16, 58, tzinfo=UTC)
RECEIVED_AT = datetime(2025, 3, 14, 16, 55, tzinfo=UTC)
# The jurisdictions of the calendars the sla ships, read as intake reads them.
RULES = InputRules(calendar_ids(SLA_CALENDARS))


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
        received_at=RECEIVED_AT,
        attributes={"crm_queue": "retail"},
    )
    return replace(submission, **changes)


def saying(text: str, **changes: Any) -> Submission:
    """A submission whose whole complaint text is ``text`` (no subject)."""
    return a_submission(subject="", description=text, **changes)


def a_request(**changes: object) -> intake_pb2.SubmitComplaintRequest:
    """A well-formed request with untidy whitespace, as upstream systems send them."""
    request = intake_pb2.SubmitComplaintRequest(
        source_system=" crm ",
        source_reference=" CASE-1001\n",
        customer=pb.Customer(
            customer_id=" cust-001 ",
            display_name="Jane Doe",
            email=" jane.doe@example.com ",
            phone=" +447700900123 ",
            social_handle=" @janedoe ",
            preferred_language=" cy ",
            declared_vulnerable=True,
        ),
        channel=pb.CHANNEL_EMAIL,
        subject="Card declined",
        description="Someone made unauthorised payments",
        product=" payments ",
        jurisdiction=" gb-eng ",
        received_at=to_timestamp(RECEIVED_AT),
        attributes={"crm_queue": "retail"},
    )
    for name, value in changes.items():
        setattr(request, name, value)
    return request
