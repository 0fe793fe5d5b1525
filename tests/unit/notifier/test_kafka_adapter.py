"""Events in (which trigger each stands for) and outcomes out (what the timeline shows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kintsugi.common.codec import Event, new_event
from kintsugi.common.ids import Cause
from kintsugi.common.timeutil import from_timestamp, to_timestamp
from kintsugi.events.v1 import clock_pb2 as cpb
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.events.v1 import notification_pb2 as npb
from services.notifier.adapters.kafka import (
    PublishedNotifications,
    response_deadlines,
    trigger_of,
)
from services.notifier.domain.planner import (
    Assigned,
    ClockInfo,
    DeadlineWarning,
    NoteRecorded,
    Resolved,
    UpdateDue,
)
from services.notifier.domain.staff import CallRequested, Escalated
from services.notifier.service import Delivery, Failure, Hold

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
REF = cpb.ClockRef(clock_id="fca-final-8wk", clock_kind="final_response", regulatory=True, cycle=2)
CLOCK = ClockInfo("fca-final-8wk", "final_response", 2, True)


def event(payload: object, event_id: str = "e-1") -> Event:
    return new_event(
        complaint_id="c-1",
        producer="test",
        payload=payload,  # type: ignore[arg-type]
        occurred_at=NOW,
        recorded_at=NOW,
        event_id=event_id,
    )


def update_due() -> cpb.CustomerUpdateDue:
    due = cpb.CustomerUpdateDue(clock=REF)
    due.due_at.CopyFrom(to_timestamp(NOW + timedelta(days=7)))
    due.update_by.CopyFrom(to_timestamp(NOW))
    return due


def warning() -> cpb.ClockWarning:
    warned = cpb.ClockWarning(clock=REF, threshold_percent=90)
    warned.due_at.CopyFrom(to_timestamp(NOW + timedelta(days=2)))
    return warned


@pytest.mark.parametrize(
    ("payload", "trigger"),
    [
        (
            pb.ComplaintAssigned(handler_id="mei.chen", handler_name="Mei", team_name="Cards"),
            Assigned("Mei", "Cards", "mei.chen"),
        ),
        (pb.ComplaintQueued(team_name="Cards", position=40), Assigned("", "Cards")),
        (update_due(), UpdateDue(CLOCK, NOW + timedelta(days=7), NOW)),
        (warning(), DeadlineWarning(CLOCK, 90, NOW + timedelta(days=2))),
        (
            pb.ActivityRecorded(kind=pb.ACTIVITY_KIND_STATUS_CHANGE, new_status=pb.STATUS_RESOLVED),
            Resolved("e-1", NOW),
        ),
        (
            pb.ActivityRecorded(kind=pb.ACTIVITY_KIND_STATUS_CHANGE, new_status=pb.STATUS_CLOSED),
            None,
        ),
        (
            pb.ActivityRecorded(kind=pb.ACTIVITY_KIND_NOTE, actor_id="exec.office"),
            NoteRecorded("e-1", "exec.office"),
        ),
        (
            pb.ComplaintAssigned(handler_id="mei.chen", executive_review=True),
            Assigned("", "", "mei.chen", executive_review=True),
        ),
        (
            cpb.Escalated(
                level=2,
                to_handler_id="grace.mensah",
                to_name="Grace Mensah",
                reasons=[pb.Reason(code="clock.90", detail="90% of the deadline gone")],
            ),
            Escalated("e-1", 2, "grace.mensah", "Grace Mensah", ("90% of the deadline gone",)),
        ),
        (
            pb.CallCustomerRequested(
                handler_id="mei.chen",
                handler_name="Mei Chen",
                reasons=[pb.Reason(code="exchanges.3")],
            ),
            CallRequested("e-1", "mei.chen", "Mei Chen", ("exchanges.3",)),
        ),
    ],
)
def test_each_event_stands_for_its_trigger(payload: object, trigger: object) -> None:
    assert trigger_of(event(payload)) == trigger


def test_started_clocks_give_the_earliest_regulatory_deadline_of_each_response_kind() -> None:
    def started(clock_id: str, kind: str, regulatory: bool, days: int) -> cpb.ClockStarted:
        clock = cpb.ClockStarted(
            clock=cpb.ClockRef(clock_id=clock_id, clock_kind=kind, regulatory=regulatory)
        )
        clock.due_at.CopyFrom(to_timestamp(NOW + timedelta(days=days)))
        return clock

    clocks = cpb.ClocksStarted(
        clocks=[
            started("psd2-15bd", "holding_response", True, 21),
            started("psd2-35bd", "final_response", True, 49),
            started("fca-final-8wk", "final_response", True, 56),
            started("int-resolution", "final_response", False, 7),  # internal: not promised
            started("fca-ack", "acknowledgement", True, 1),
        ]
    )

    assert response_deadlines(event(clocks)) == {
        "holding_response": NOW + timedelta(days=21),
        "final_response": NOW + timedelta(days=49),
    }
    assert response_deadlines(event(pb.ComplaintQueued())) == {}


class Captured:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, *events: Event) -> None:
        self.events.extend(events)


async def test_a_failure_on_the_timeline_carries_its_retry_time_and_fallback() -> None:
    captured = Captured()
    published = PublishedNotifications(captured, lambda: NOW)  # type: ignore[arg-type]
    retry_at = NOW + timedelta(minutes=2)

    await published.failed(
        "c-1",
        Failure("n-1", "acknowledgement", "email", "SMTP 451 at RCPT", 1, retry_at, ""),
        Cause("a", "r"),
    )
    await published.failed(
        "c-1",
        Failure("n-1", "acknowledgement", "email", "SMTP 550 at RCPT", 2, None, "sms"),
        Cause("a", "r"),
    )

    first, second = (e.notification_failed for e in captured.events)
    assert first.retryable and from_timestamp(first.next_attempt_at) == retry_at
    assert not second.retryable and second.fallback_channel == pb.CHANNEL_SMS
    assert second.purpose == npb.NOTIFICATION_PURPOSE_ACKNOWLEDGEMENT
    assert captured.events[0].event_id != captured.events[1].event_id


async def test_a_sent_sms_is_announced_on_its_channel_with_the_number_masked() -> None:
    captured = Captured()
    published = PublishedNotifications(captured, lambda: NOW)  # type: ignore[arg-type]
    delivery = Delivery("n-1", "progress_update", "sms", "+447700900123", "prov-1", "Mei")

    await published.sent("c-1", delivery, Cause("a", "r"))

    [sent] = (e.notification_sent for e in captured.events)
    assert sent.channel == pb.CHANNEL_SMS
    assert sent.recipient_masked == "***123"
    assert sent.provider_message_id == "prov-1"
    assert sent.purpose == npb.NOTIFICATION_PURPOSE_PROGRESS_UPDATE


async def test_staff_messages_never_reach_the_customers_timeline() -> None:
    # A notification_sent would reset the sla's customer cadence: staff mail is not contact.
    captured = Captured()
    published = PublishedNotifications(captured, lambda: NOW)  # type: ignore[arg-type]
    delivery = Delivery("n-1", "staff_escalation", "email", "g@bank.example", "p-1", "Kintsugi")

    await published.sent("c-1", delivery, Cause("a", "r"))
    await published.failed(
        "c-1", Failure("n-2", "staff_call_customer", "email", "550", 1, None, ""), Cause("a", "r")
    )

    assert captured.events == []


async def test_a_response_held_for_review_is_on_the_timeline_as_requested_for_review() -> None:
    captured = Captured()
    published = PublishedNotifications(captured, lambda: NOW)  # type: ignore[arg-type]
    hold = Hold("n-1", "final_response", "email", "en-GB", NOW + timedelta(weeks=7))

    await published.held_for_review("c-1", hold, Cause("resolved", "r"))

    [held] = captured.events
    requested = held.notification_requested
    assert requested.requires_executive_review
    assert requested.notification_id == "n-1"
    assert requested.purpose == npb.NOTIFICATION_PURPOSE_FINAL_RESPONSE
    assert requested.channel == pb.CHANNEL_EMAIL
    assert requested.template_id == "en-GB/final_response.long.j2"
    assert held.causation_id == "resolved"
