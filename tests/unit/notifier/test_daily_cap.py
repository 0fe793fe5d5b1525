"""The daily cap is per customer, across their complaints, and only for progress updates;
every replica applying the same claims in the same order reaches the same verdicts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from kintsugi.common.ids import Cause
from kintsugi.events.v1 import complaint_pb2 as pb
from services.notifier.adapters.kafka import customer_key
from services.notifier.domain.daily_cap import DailyCapTable, UpdateClaim
from services.notifier.domain.messages import MessageComposer
from services.notifier.domain.planner import ClockInfo, DeadlineWarning, UpdateDue
from services.notifier.service import LocalAllowance, Notifier
from tests.unit.notifier.fakes import (
    FakeClock,
    FakeSender,
    InMemoryCases,
    RecordedNotifications,
    a_case,
)

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def hours(h: float) -> datetime:
    return NOW + timedelta(hours=h)


@pytest.mark.parametrize(
    ("claims", "verdicts"),
    [
        # Three a day go; a fourth waits until the first is a day old.
        (
            [
                ("jane", "u1", hours(0)),
                ("jane", "u2", hours(4)),
                ("jane", "u3", hours(8)),
                ("jane", "u4", hours(10)),
            ],
            [None, None, None, hours(24)],
        ),
        # Another customer has a cap of their own.
        (
            [
                ("jane", "u1", hours(0)),
                ("jane", "u2", hours(1)),
                ("jane", "u3", hours(2)),
                ("john", "u4", hours(3)),
            ],
            [None, None, None, None],
        ),
        # A claim made again (a retry, a replay, a restart) keeps its place, counted once.
        (
            [
                ("jane", "u1", hours(0)),
                ("jane", "u1", hours(1)),
                ("jane", "u2", hours(2)),
                ("jane", "u3", hours(3)),
            ],
            [None, None, None, None],
        ),
        # A refused update claims again when told, and then goes.
        (
            [
                ("jane", "u1", hours(0)),
                ("jane", "u2", hours(1)),
                ("jane", "u3", hours(2)),
                ("jane", "u4", hours(3)),
                ("jane", "u4", hours(24)),
            ],
            [None, None, None, hours(24), None],
        ),
        # Updates a day old no longer count.
        (
            [
                ("jane", "u1", hours(0)),
                ("jane", "u2", hours(1)),
                ("jane", "u3", hours(2)),
                ("jane", "u4", hours(26)),
            ],
            [None, None, None, None],
        ),
    ],
)
def test_each_claim_gets_its_verdict_in_log_order(
    claims: list[tuple[str, str, datetime]], verdicts: list[datetime | None]
) -> None:
    table = DailyCapTable(limit=3)
    assert [table.apply(UpdateClaim(*claim)) for claim in claims] == verdicts


def test_a_cap_below_one_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="limit"):
        DailyCapTable(limit=0)


@pytest.mark.parametrize(
    ("customer", "same_as"),
    [
        # The upstream id decides, whatever address the complaint came from.
        (pb.Customer(customer_id="c-1", email="b@example.com"), pb.Customer(customer_id="c-1")),
        # Without one, the contact: case does not make another person.
        (pb.Customer(email="Jane@Example.com"), pb.Customer(email="jane@example.com")),
    ],
)
def test_one_person_has_one_key_across_complaints(
    customer: pb.Customer, same_as: pb.Customer
) -> None:
    assert customer_key(customer) == customer_key(same_as) != ""
    assert "example.com" not in customer_key(customer)  # no contact details on the log


async def test_two_complaints_of_one_customer_share_the_cap_and_other_messages_never_wait() -> None:
    first, second = (
        a_case(customer_key="jane"),
        a_case(complaint_id="6a1d7b9f-3c2e-5f8b-8d4a-2b3c4d5e6f70", customer_key="jane"),
    )
    email = FakeSender("email")
    clock = FakeClock(NOW)
    notifier = Notifier(
        InMemoryCases(first, second),
        {"email": email},
        RecordedNotifications(),
        MessageComposer("Kintsugi Financial"),
        clock,
        allowance=LocalAllowance(DailyCapTable(limit=2)),
    )
    cadence = ClockInfo("int-progress", "progress_update", 0, False)
    for cycle, case in enumerate((first, second, first)):
        clock.advance(hours=1)
        update = UpdateDue(replace(cadence, cycle=cycle), clock.now, clock.now)
        await notifier.handle(case.complaint_id, update, Cause(f"u{cycle}", "c"))
    final = ClockInfo("fca-final-8wk", "final_response", 0, True)
    await notifier.handle(
        second.complaint_id, DeadlineWarning(final, 90, hours(48)), Cause("w", "c")
    )

    sent = [(s.complaint_id, s.message.subject.split(" ")[0]) for s in email.sent]
    assert sent == [
        (first.complaint_id, "An"),
        (second.complaint_id, "An"),
        (second.complaint_id, "Your"),  # the holding response is never capped
    ]
    clock.now = hours(1) + timedelta(days=1)  # the first update is a day old
    await notifier.retry_due()
    assert [s.complaint_id for s in email.sent][3:] == [first.complaint_id]
