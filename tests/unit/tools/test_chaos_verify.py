"""The chaos verifier sees a double and a loss where there is one (it can fail)."""

from __future__ import annotations

from datetime import UTC, datetime

from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.events.v1 import notification_pb2 as npb
from services.notifier.domain.planner import ACKNOWLEDGEMENT, FINAL_RESPONSE, notification_id
from tests.events import an_event
from tools.chaos.load import LoadStats
from tools.chaos.scenario import Complaint, Story, build
from tools.chaos.timeline import Timeline
from tools.chaos.verify import Delivery, Verifier

AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _one_quiet_complaint() -> tuple[Complaint, LoadStats, Timeline, str]:
    complaint = next(c for c in build(50, "unit", seed=1) if c.story is Story.QUIET)
    load = LoadStats(complaints_accepted=1, answers={complaint.reference: ("fees", "none")})
    timeline = Timeline(KafkaSettings())
    ack = notification_id(complaint.complaint_id, ACKNOWLEDGEMENT, "assigned")
    sent = npb.NotificationSent(
        notification_id=ack, purpose=npb.NOTIFICATION_PURPOSE_ACKNOWLEDGEMENT
    )
    timeline.by_complaint[complaint.complaint_id] = [
        an_event(complaint.complaint_id, "r", pb.ComplaintReceived(), AT),
        an_event(complaint.complaint_id, "a", pb.ComplaintAssigned(), AT),
        an_event(complaint.complaint_id, "n", sent, AT),
    ]
    return complaint, load, timeline, ack


def test_one_message_received_under_two_message_ids_is_a_double() -> None:
    complaint, load, timeline, ack = _one_quiet_complaint()
    cid = complaint.complaint_id
    delivered = [Delivery(cid, ack, "<m1@x>"), Delivery(cid, ack, "<m2@x>")]

    verdict = Verifier([complaint]).verify(timeline, load, delivered)

    assert f"{complaint.reference} (quiet): message {ack} received as 2 messages" in (
        verdict.problems
    )


def test_a_copy_under_the_same_message_id_is_counted_not_failed() -> None:
    complaint, load, timeline, ack = _one_quiet_complaint()
    cid = complaint.complaint_id
    delivered = [Delivery(cid, ack, "<m1@x>"), Delivery(cid, ack, "<m1@x>")]

    verdict = Verifier([complaint]).verify(timeline, load, delivered)

    assert not [p for p in verdict.problems if ack in p]
    assert verdict.counts["copies re-sent with the same id"] == 1


def test_a_missing_stage_and_an_unrecorded_message_are_reported() -> None:
    complaint, load, timeline, ack = _one_quiet_complaint()
    stray = Delivery(complaint.complaint_id, "not-on-the-log", "<m9@x>")

    verdict = Verifier([complaint]).verify(timeline, load, [stray])

    assert f"{complaint.reference} (quiet): classified: 0 times, expected once" in (
        verdict.problems
    )
    assert f"{complaint.reference} (quiet): message {ack} never reached its server" in (
        verdict.problems
    )
    assert any("not-on-the-log" in p and "never recorded" in p for p in verdict.problems)
    assert complaint.reference in verdict.timelines


def test_a_resolution_redelivered_under_its_own_id_is_one_resolution() -> None:
    # Seen in a full run: intake's activity event published twice with the same id (a
    # copy after a kill), the final response announced twice with the same id.
    complaint = next(c for c in build(50, "unit", seed=1) if c.story is Story.RESOLVED)
    cid = complaint.complaint_id
    load = LoadStats(complaints_accepted=1, answers={})
    timeline = Timeline(KafkaSettings())
    resolved = an_event(cid, "res", pb.ActivityRecorded(new_status=pb.STATUS_RESOLVED), AT)
    final = notification_id(cid, FINAL_RESPONSE, "res")
    sent = npb.NotificationSent(
        notification_id=final, purpose=npb.NOTIFICATION_PURPOSE_FINAL_RESPONSE
    )
    timeline.by_complaint[cid] = [
        resolved,
        resolved,
        an_event(cid, "n", sent, AT),
        an_event(cid, "n", sent, AT),
    ]

    verdict = Verifier([complaint]).verify(timeline, load, [Delivery(cid, final, "<m1@x>")])

    assert not [p for p in verdict.problems if "resolutions" in p], verdict.problems
    assert verdict.counts["final responses"] == 1
