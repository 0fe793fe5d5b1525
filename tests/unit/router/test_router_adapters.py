"""Router edges: events become facts, decisions become events, without losing a field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kintsugi.common.codec import new_event
from kintsugi.common.timeutil import to_timestamp
from kintsugi.events.v1 import clock_pb2 as cpb
from kintsugi.events.v1 import complaint_pb2 as pb
from services.router.adapters.kafka import activity, clock_alert, payload, routing_request
from services.router.domain.desk import Assigned, CallRequested, Escalated, Queued
from services.router.domain.routing import Reason

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
WHY = (Reason("why", "because"),)


def _event(payload_message: object) -> object:
    return new_event(
        complaint_id="c1",
        producer="test",
        event_id="e1",
        occurred_at=AT,
        recorded_at=AT,
        payload=payload_message,  # type: ignore[arg-type]
    )


def test_a_classified_event_becomes_a_request_with_product_and_regime() -> None:
    event = _event(
        pb.ComplaintClassified(
            category="fees",
            severity=pb.SEVERITY_HIGH,
            language="cy",
            customer_id="u1",
            product="card",
            regime="uk-fca-disp",
            vulnerable=True,
        )
    )

    request = routing_request(event)  # type: ignore[arg-type]

    assert (request.severity, request.product, request.regime, request.vulnerable) == (
        "high",
        "card",
        "uk-fca-disp",
        True,
    )


def test_the_regime_none_requires_no_regime_training() -> None:
    event = _event(pb.ComplaintClassified(category="fees", regime="none"))

    assert routing_request(event).regime == ""  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "channel", "status", "message", "resolves", "channel_name"),
    [
        (
            pb.ACTIVITY_KIND_CUSTOMER_MESSAGE,
            pb.CHANNEL_EMAIL,
            pb.STATUS_IN_PROGRESS,
            True,
            False,
            "email",
        ),
        (
            pb.ACTIVITY_KIND_STAFF_MESSAGE,
            pb.CHANNEL_PHONE,
            pb.STATUS_UNSPECIFIED,
            True,
            False,
            "phone",
        ),
        (
            pb.ACTIVITY_KIND_STATUS_CHANGE,
            pb.CHANNEL_UNSPECIFIED,
            pb.STATUS_RESOLVED,
            False,
            True,
            "",
        ),
        (pb.ACTIVITY_KIND_NOTE, pb.CHANNEL_UNSPECIFIED, pb.STATUS_CLOSED, False, True, ""),
    ],
)
def test_activities_become_messages_calls_or_resolutions(
    kind: int, channel: int, status: int, message: bool, resolves: bool, channel_name: str
) -> None:
    event = _event(pb.ActivityRecorded(kind=kind, channel=channel, new_status=status))  # type: ignore[arg-type]

    fact = activity(event)  # type: ignore[arg-type]

    assert (fact.message, fact.resolves, fact.channel) == (message, resolves, channel_name)


def test_a_breach_is_an_alert_at_full_threshold_with_its_clock() -> None:
    ref = cpb.ClockRef(clock_id="k", clock_kind="final_response", regulatory=True, cycle=2)
    event = _event(cpb.ClockBreached(clock=ref, due_at=to_timestamp(AT - timedelta(hours=1))))

    alert = clock_alert(event)  # type: ignore[arg-type]

    assert (alert.clock_id, alert.regulatory, alert.cycle, alert.threshold_percent) == (
        "k",
        True,
        2,
        100,
    )
    assert alert.due_at == AT - timedelta(hours=1) and alert.at == AT


def test_every_decision_becomes_its_event_with_its_reasons() -> None:
    assigned = payload(
        Assigned("e", "c1", "care", "Care", "ann", "Ann", "absence", "bob", WHY, True)
    )
    queued = payload(Queued("e", "c1", "care", "Care", 3, WHY))
    escalated = payload(Escalated("e", "c1", "care", 2, "ann", "mo", "Mo", "clock", WHY))
    call = payload(CallRequested("e", "c1", "care", "ann", "Ann", WHY))

    assert isinstance(assigned, pb.ComplaintAssigned)
    assert (assigned.kind, assigned.previous_handler_id, assigned.team_name) == (
        pb.ASSIGNMENT_KIND_ABSENCE,
        "bob",
        "Care",
    )
    assert isinstance(queued, pb.ComplaintQueued) and queued.position == 3
    assert isinstance(escalated, cpb.Escalated)
    assert (escalated.level, escalated.to_handler_id, escalated.to_name) == (2, "mo", "Mo")
    assert isinstance(call, pb.CallCustomerRequested) and call.handler_name == "Ann"
    for event in (assigned, queued, escalated, call):
        assert [(r.code, r.detail) for r in event.reasons] == [("why", "because")]


class _Inbox:
    def __init__(self) -> None:
        self.published: list[object] = []

    async def publish(self, *events: object) -> None:
        self.published.extend(events)


async def test_the_forwarder_passes_each_event_on_unchanged_with_its_id() -> None:
    from services.router.adapters.kafka import Forwarder

    inbox = _Inbox()
    event = _event(pb.ComplaintClassified(category="fees"))

    await Forwarder(inbox)(event)  # type: ignore[arg-type]

    assert inbox.published == [event]


def test_the_forwarder_wants_exactly_what_the_decider_decides_on() -> None:
    from services.router.adapters.kafka import Forwarder, RouterEventHandler

    assert (
        Forwarder.event_types
        == RouterEventHandler.event_types
        == {
            "classified",
            "activity",
            "clock_warning",
            "clock_breached",
        }
    )
