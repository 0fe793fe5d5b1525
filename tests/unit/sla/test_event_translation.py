"""What the sla service reads from complaint events, and what it writes back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from google.protobuf.message import Message

from kintsugi.common.codec import Event, event_type, new_event
from kintsugi.common.timeutil import from_timestamp, to_timestamp
from kintsugi.events.v1 import clock_pb2 as cpb
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.events.v1 import notification_pb2 as npb
from services.sla.adapters.events import facts_from, milestone_for, to_event, to_events
from services.sla.domain import ComplaintClocks, ComplaintFacts, Milestone, PolicySet

AT = datetime(2026, 12, 18, 16, 58, tzinfo=UTC)


def _event(payload: Message) -> Event:
    return new_event(
        complaint_id="c-1",
        producer="test",
        event_id="e-1",
        occurred_at=AT,
        recorded_at=AT,
        payload=payload,
    )


@pytest.mark.parametrize(
    ("payload", "milestone"),
    [
        (
            npb.NotificationSent(purpose=npb.NOTIFICATION_PURPOSE_ACKNOWLEDGEMENT),
            Milestone.ACKNOWLEDGED,
        ),
        (
            npb.NotificationSent(purpose=npb.NOTIFICATION_PURPOSE_PROGRESS_UPDATE),
            Milestone.CUSTOMER_UPDATED,
        ),
        (
            npb.NotificationSent(purpose=npb.NOTIFICATION_PURPOSE_HOLDING_RESPONSE),
            Milestone.HOLDING_RESPONSE_SENT,
        ),
        (
            npb.NotificationSent(purpose=npb.NOTIFICATION_PURPOSE_FINAL_RESPONSE),
            Milestone.FINAL_RESPONSE_SENT,
        ),
        (pb.ActivityRecorded(kind=pb.ACTIVITY_KIND_CUSTOMER_MESSAGE), Milestone.CUSTOMER_RESPONDED),
        (
            pb.ActivityRecorded(
                kind=pb.ACTIVITY_KIND_STATUS_CHANGE, new_status=pb.STATUS_WAITING_ON_CUSTOMER
            ),
            Milestone.WAITING_ON_CUSTOMER,
        ),
        (
            pb.ActivityRecorded(
                kind=pb.ACTIVITY_KIND_STATUS_CHANGE, new_status=pb.STATUS_CUSTOMER_RESPONDED
            ),
            Milestone.CUSTOMER_RESPONDED,
        ),
        (
            pb.ActivityRecorded(kind=pb.ACTIVITY_KIND_STATUS_CHANGE, new_status=pb.STATUS_REOPENED),
            Milestone.REOPENED,
        ),
        (
            pb.ActivityRecorded(kind=pb.ACTIVITY_KIND_STATUS_CHANGE, new_status=pb.STATUS_CLOSED),
            Milestone.CLOSED,
        ),
        (
            pb.ActivityRecorded(kind=pb.ACTIVITY_KIND_STATUS_CHANGE, new_status=pb.STATUS_RESOLVED),
            Milestone.CLOSED,
        ),
    ],
)
def test_events_that_move_clocks_become_milestones_at_their_occurrence(
    payload: Message, milestone: Milestone
) -> None:
    assert milestone_for(_event(payload)) == (milestone, AT)


@pytest.mark.parametrize(
    "payload",
    [
        pb.ComplaintAssigned(handler_id="h"),
        pb.ActivityRecorded(kind=pb.ACTIVITY_KIND_NOTE),
        pb.ActivityRecorded(kind=pb.ACTIVITY_KIND_STATUS_CHANGE, new_status=pb.STATUS_IN_PROGRESS),
        npb.NotificationFailed(purpose=npb.NOTIFICATION_PURPOSE_ACKNOWLEDGEMENT),
    ],
)
def test_events_that_do_not_move_clocks_are_not_milestones(payload: Message) -> None:
    assert milestone_for(_event(payload)) is None


def test_every_clock_transition_of_a_complaint_translates_to_a_complaint_event() -> None:
    policies = PolicySet.default()
    classified = _event(
        pb.ComplaintClassified(
            category="fees",
            severity=pb.SEVERITY_MEDIUM,
            regime="uk-fca-disp",
            jurisdiction="GB-ENG",
            channel=pb.CHANNEL_EMAIL,
            received_at=_stamp(AT),
        )
    )
    clocks, started = ComplaintClocks.start(facts_from(classified), policies)
    later = datetime(2027, 3, 1, tzinfo=UTC)
    transitions = [
        *started,
        *clocks.on_milestone(Milestone.ACKNOWLEDGED, AT, policies),
        *clocks.tick(later, policies),
    ]

    events = [to_event(t, classified) for t in transitions]

    kinds = {event_type(e) for e in events}
    assert {"clock_started", "clock_stopped", "clock_breached", "clock_reset"} <= kinds
    assert all(e.causation_id == classified.event_id for e in events)
    assert len({e.event_id for e in events}) == len(events)
    started_event = events[0].clock_started
    assert started_event.clock.policy_id and started_event.due_at.seconds > 0
    outcomes = {
        (e.clock_stopped.clock.clock_kind, e.clock_stopped.outcome)
        for e in events
        if event_type(e) == "clock_stopped"
    }
    assert ("acknowledgement", cpb.CLOCK_OUTCOME_MET) in outcomes
    assert ("summary_resolution", cpb.CLOCK_OUTCOME_LAPSED) in outcomes


def _stamp(at: datetime):
    return to_timestamp(at)


def _classified(regime: str, jurisdiction: str) -> Event:
    return _event(
        pb.ComplaintClassified(
            category="fees",
            severity=pb.SEVERITY_MEDIUM,
            regime=regime,
            jurisdiction=jurisdiction,
            channel=pb.CHANNEL_EMAIL,
            received_at=_stamp(AT),
        )
    )


def test_the_clocks_a_complaint_starts_with_travel_in_one_event_with_a_derived_id() -> None:
    policies = PolicySet.default()
    classified = _classified("uk-fca-disp", "GB-ENG")
    _, started = ComplaintClocks.start(facts_from(classified), policies)
    assert len(started) > 1

    events = to_events(started, classified)
    again = to_events(started, classified)

    assert [event_type(e) for e in events] == ["clocks_started"]
    together = events[0].clocks_started
    assert [c.clock.clock_id for c in together.clocks] == [s.clock_id for s in started]
    assert [from_timestamp(c.due_at) for c in together.clocks] == [s.due_at for s in started]
    assert events[0].causation_id == classified.event_id
    # a replay (later, on another worker) repeats the same bytes, so consumers drop it
    assert [e.SerializeToString(deterministic=True) for e in again] == [
        e.SerializeToString(deterministic=True) for e in events
    ]


def test_other_transitions_keep_one_event_each_after_the_started_clocks() -> None:
    policies = PolicySet.default()
    classified = _classified("uk-fca-disp", "GB-ENG")
    clocks, started = ComplaintClocks.start(facts_from(classified), policies)
    acknowledged = clocks.on_milestone(Milestone.ACKNOWLEDGED, AT, policies)

    events = to_events([*started, *acknowledged], classified)

    assert event_type(events[0]) == "clocks_started"
    assert [event_type(e) for e in events[1:]] == [
        event_type(to_event(t, classified)) for t in acknowledged
    ]


@pytest.mark.parametrize(
    ("regime", "jurisdiction", "clock_id", "version", "due_local_date"),
    [
        ("us-cfpb", "US", "cfpb-15d", 1, "2027-01-02"),
        # 18 Dec 16:58 UTC is already 19 Dec in Sydney: 30 days after that day.
        ("au-asic-rg271", "AU-NSW", "asic-final-30d", 2, "2027-01-18"),
        ("uk-fca-disp", "GB-ENG", "fca-final-8wk", 1, ""),  # a time of day, not a date
    ],
)
def test_a_clock_event_names_its_policy_version_and_any_date_only_deadline(
    regime: str, jurisdiction: str, clock_id: str, version: int, due_local_date: str
) -> None:
    facts = ComplaintFacts("c-1", regime, jurisdiction, "medium", "email", "fees", AT)
    _, domain_events = ComplaintClocks.start(facts, PolicySet.default())

    (started,) = to_events(domain_events, None)
    (clock,) = [c for c in started.clocks_started.clocks if c.clock.clock_id == clock_id]

    assert clock.clock.policy_version == version
    assert clock.clock.due_local_date == due_local_date
