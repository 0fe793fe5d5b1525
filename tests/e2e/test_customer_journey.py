"""A customer's whole journey through the four real services, on a compressed calendar.

The sla runs on the policies of tests/data/policies-journey: a progress update falls due
every minute and the three-minute IDR response deadline warns after 2 min 15 s. An
Australian customer complains by email and hears, at the receiving SMTP server: the
acknowledgement, two progress updates, the IDR delay notification, and - once the handler
records the resolution over gRPC - the final response. Each exactly once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp

from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2
from tests.e2e.conftest import OwnStack
from tests.integration.test_notifier_kafka import until
from tools.devstack.mailbox import Mailbox, start_mailbox

POLICIES = Path(__file__).resolve().parent.parent / "data" / "policies-journey"
# Quiet hours are the subject of other tests: here a second a day, so updates go any time.
ANY_HOUR = {"QUIET_FROM": "00:00:00", "QUIET_UNTIL": "00:00:01"}
# The subject each message's template gives it (en-AU).
PURPOSE_BY_SUBJECT = {
    "We're on it": "acknowledgement",
    "An update on": "progress_update",
    "Your complaint": "delay_notice",
    "Our response": "final_response",
}
JOURNEY_TIMEOUT_S = 300


def purposes(box: Mailbox, address: str) -> Counter[str]:
    def purpose(subject: str) -> str:
        return next((p for s, p in PURPOSE_BY_SUBJECT.items() if subject.startswith(s)), subject)

    return Counter(purpose(str(m["Subject"])) for m in box.to(address))


def an_australian_complaint(reference: str, email: str) -> intake_pb2.SubmitComplaintRequest:
    received = Timestamp()
    received.FromDatetime(datetime.now(UTC))
    return intake_pb2.SubmitComplaintRequest(
        source_system="e2e",
        source_reference=reference,
        customer=pb.Customer(
            customer_id=f"cust-{reference}", display_name="Ada Lovelace", email=email
        ),
        channel=pb.CHANNEL_EMAIL,
        subject="Double charge",
        description="I was charged twice for the same purchase.",
        product="credit_card",
        jurisdiction="AU-NSW",
        received_at=received,
    )


def resolved(reference: str) -> intake_pb2.RecordActivityRequest:
    request = intake_pb2.RecordActivityRequest(
        source_system="e2e",
        source_reference=reference,
        activity_reference=f"{reference}-resolved",
        actor_id="ella.nguyen",
        actor_name="Ella Nguyen",
        status_change=intake_pb2.StatusChange(
            new_status=pb.STATUS_RESOLVED, outcome=pb.RESOLUTION_OUTCOME_UPHELD
        ),
    )
    request.occurred_at.FromDatetime(datetime.now(UTC))
    return request


async def test_a_customer_hears_at_each_step_exactly_once(own_stack: OwnStack, unique: str) -> None:
    controller, box = start_mailbox()
    address = f"ada-{unique}@example.com"
    try:
        async with own_stack(
            controller.port,
            box,
            sla_policies_dir=POLICIES,
            service_settings={"notifier": ANY_HOUR},
        ) as stack:
            await stack.intake.SubmitComplaint(an_australian_complaint(unique, address), timeout=10)

            # Acknowledged at once; an update every minute; the delay notice at 75%.
            await until(
                lambda: (
                    purposes(box, address)
                    >= Counter(acknowledgement=1, progress_update=2, delay_notice=1)
                ),
                timeout_s=JOURNEY_TIMEOUT_S,
            )
            await stack.intake.RecordActivity(resolved(unique), timeout=10)
            await until(lambda: purposes(box, address)["final_response"] >= 1)
            await asyncio.sleep(5)  # room for a duplicate to arrive, if one were coming
    finally:
        controller.stop()

    assert purposes(box, address) == Counter(
        acknowledgement=1, progress_update=2, delay_notice=1, final_response=1
    )
    messages = box.to(address)
    assert len({m["Message-ID"] for m in messages}) == len(messages) == 5
    [delay_notice] = [m for m in messages if str(m["Subject"]).startswith("Your complaint")]
    assert "AFCA" in delay_notice.get_content()  # the customer's right, as RG 271 requires
