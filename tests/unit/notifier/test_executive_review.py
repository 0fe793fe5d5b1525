"""Executive review (rule 10): a sampled complaint's responses wait for the office's
approval or until a margin before their deadline - never later - and nothing else waits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from kintsugi.common.ids import Cause
from services.notifier.domain.case import PENDING
from services.notifier.domain.messages import MessageComposer
from services.notifier.domain.planner import (
    Assigned,
    ClockInfo,
    DeadlineWarning,
    NoteRecorded,
    Resolved,
    UpdateDue,
)
from services.notifier.domain.review import RELEASE_AT, ExecutiveReview
from services.notifier.service import Notifier
from tests.unit.notifier.fakes import (
    COMPLAINT_ID,
    FakeClock,
    FakeSender,
    InMemoryCases,
    RecordedNotifications,
    a_case,
)

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
FINAL_DUE = NOW + timedelta(weeks=8)
HOLDING_DUE = NOW + timedelta(days=21)
REVIEW = ExecutiveReview(margin=timedelta(days=2), longest_hold=timedelta(hours=12))
SAMPLED = a_case(executive_review=True, deadlines={"final_response": FINAL_DUE.isoformat()})


@pytest.mark.parametrize(
    ("case", "purpose", "facts", "now", "release"),
    [
        # The final response waits until two days before its regulatory deadline.
        (SAMPLED, "final_response", {}, NOW, FINAL_DUE - timedelta(days=2)),
        # A holding response meets the clock that asked for it.
        (
            SAMPLED,
            "holding_response",
            {"deadline": HOLDING_DUE.isoformat()},
            NOW,
            HOLDING_DUE - timedelta(days=2),
        ),
        # Inside the margin already: out at once, never late.
        (SAMPLED, "final_response", {}, FINAL_DUE - timedelta(days=1), None),
        # Past every deadline: out at once.
        (SAMPLED, "final_response", {}, FINAL_DUE + timedelta(days=1), None),
        # No regulatory deadline known: the longest hold from now.
        (replace(SAMPLED, deadlines={}), "final_response", {}, NOW, NOW + timedelta(hours=12)),
        # PSD2: the 15-business-day deadline while ahead, then the 35-day one.
        (
            replace(
                SAMPLED,
                deadlines={
                    "holding_response": HOLDING_DUE.isoformat(),
                    "final_response": FINAL_DUE.isoformat(),
                },
            ),
            "final_response",
            {},
            NOW,
            HOLDING_DUE - timedelta(days=2),
        ),
        (
            replace(
                SAMPLED,
                deadlines={
                    "holding_response": HOLDING_DUE.isoformat(),
                    "final_response": FINAL_DUE.isoformat(),
                },
            ),
            "final_response",
            {},
            HOLDING_DUE + timedelta(hours=1),
            FINAL_DUE - timedelta(days=2),
        ),
        # Decided once, when the hold began: later facts do not move it.
        (
            SAMPLED,
            "final_response",
            {RELEASE_AT: (NOW + timedelta(hours=1)).isoformat()},
            NOW,
            NOW + timedelta(hours=1),
        ),
        # Approved, or never sampled: nothing waits.
        (replace(SAMPLED, review_approved=True), "final_response", {}, NOW, None),
        (replace(SAMPLED, executive_review=False), "final_response", {}, NOW, None),
        # Only responses are reviewed: every other message goes as it would.
        (SAMPLED, "acknowledgement", {}, NOW, None),
        (SAMPLED, "progress_update", {}, NOW, None),
        (SAMPLED, "delay_notice", {"deadline": HOLDING_DUE.isoformat()}, NOW, None),
        (SAMPLED, "staff_escalation", {}, NOW, None),
    ],
)
def test_when_a_response_held_for_review_goes_out_anyway(
    case: object, purpose: str, facts: dict[str, str], now: datetime, release: datetime | None
) -> None:
    assert REVIEW.release_at(case, purpose, facts, now) == release  # type: ignore[arg-type]


def test_only_a_configured_reviewer_approves() -> None:
    assert REVIEW.approves("exec.office")
    assert not REVIEW.approves("mei.chen")


def test_a_bad_review_setting_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="margin"):
        ExecutiveReview(margin=timedelta(hours=-1))
    with pytest.raises(ValueError, match="longest_hold"):
        ExecutiveReview(longest_hold=timedelta(0))


class ReviewWorld:
    def __init__(self) -> None:
        self.cases = InMemoryCases(a_case(deadlines={"final_response": FINAL_DUE.isoformat()}))
        self.clock = FakeClock(NOW)
        self.email = FakeSender("email")
        self.events = RecordedNotifications()

    def notifier(self) -> Notifier:
        """A process over the durable state (call again for a restart)."""
        notifier = Notifier(
            self.cases,
            {"email": self.email},
            self.events,
            MessageComposer("Kintsugi Financial"),
            self.clock,
            review=REVIEW,
        )
        notifier.reindex()
        return notifier

    def subjects(self) -> list[str]:
        return [sent.message.subject for sent in self.email.sent]


async def sampled_and_resolved(world: ReviewWorld, notifier: Notifier) -> None:
    assigned = Assigned("Mei Chen", "Cards", "mei.chen", executive_review=True)
    await notifier.handle(COMPLAINT_ID, assigned, Cause("assigned", "c"))
    await notifier.handle(COMPLAINT_ID, Resolved("resolved", NOW), Cause("resolved", "c"))


async def test_an_approval_releases_the_held_final_response_once() -> None:
    world = ReviewWorld()
    notifier = world.notifier()
    await sampled_and_resolved(world, notifier)
    assert world.subjects() == ["We're on it: your complaint 5F0C6A8E2B"]

    approval = NoteRecorded("note-1", "exec.office")
    [delivery] = await notifier.handle(COMPLAINT_ID, approval, Cause("note-1", "c"))
    assert delivery.purpose == "final_response"
    await world.notifier().handle(COMPLAINT_ID, approval, Cause("note-1", "c"))  # redelivered
    await notifier.retry_due()

    assert world.subjects()[1:] == ["Our response to your complaint 5F0C6A8E2B"]


async def test_a_note_by_anyone_else_releases_nothing() -> None:
    world = ReviewWorld()
    notifier = world.notifier()
    await sampled_and_resolved(world, notifier)

    await notifier.handle(COMPLAINT_ID, NoteRecorded("note-1", "mei.chen"), Cause("n", "c"))

    assert len(world.email.sent) == 1
    case = world.cases.get(COMPLAINT_ID)
    assert case is not None and [e.status for e in case.pending().values()] == [PENDING]


async def test_without_approval_the_response_goes_at_the_margin_even_after_a_restart() -> None:
    world = ReviewWorld()
    await sampled_and_resolved(world, world.notifier())

    world.clock.now = FINAL_DUE - timedelta(days=2, seconds=1)
    await world.notifier().retry_due()
    assert len(world.email.sent) == 1
    world.clock.now = FINAL_DUE - timedelta(days=2)
    await world.notifier().retry_due()  # a new process: the hold was durable

    assert world.subjects()[1:] == ["Our response to your complaint 5F0C6A8E2B"]


async def test_after_approval_later_responses_are_not_held() -> None:
    world = ReviewWorld()
    notifier = world.notifier()
    assigned = Assigned("Mei Chen", "Cards", "mei.chen", executive_review=True)
    await notifier.handle(COMPLAINT_ID, assigned, Cause("assigned", "c"))
    await notifier.handle(COMPLAINT_ID, NoteRecorded("n", "exec.office"), Cause("n", "c"))

    await notifier.handle(COMPLAINT_ID, Resolved("resolved", NOW), Cause("resolved", "c"))

    assert world.subjects()[1:] == ["Our response to your complaint 5F0C6A8E2B"]


async def test_a_sampled_complaint_still_gets_its_progress_updates_and_delay_notices() -> None:
    world = ReviewWorld()
    notifier = world.notifier()
    assigned = Assigned("Mei Chen", "Cards", "mei.chen", executive_review=True)
    await notifier.handle(COMPLAINT_ID, assigned, Cause("assigned", "c"))
    cadence = ClockInfo("int-progress", "progress_update", 0, False)
    cfpb = ClockInfo("cfpb-60d", "final_response", 0, True)
    world.cases.by_complaint[COMPLAINT_ID] = replace(
        world.cases.by_complaint[COMPLAINT_ID], regime="us-cfpb", language="en-GB"
    )
    await notifier.handle(COMPLAINT_ID, UpdateDue(cadence, NOW, NOW), Cause("u", "c"))
    await notifier.handle(COMPLAINT_ID, DeadlineWarning(cfpb, 90, FINAL_DUE), Cause("w", "c"))

    assert len(world.email.sent) == 3  # acknowledgement, progress update, delay notice


async def test_operators_see_each_held_response_and_how_long_it_has_waited() -> None:
    world = ReviewWorld()
    notifier = world.notifier()
    await sampled_and_resolved(world, notifier)
    world.clock.advance(hours=5)

    # A restart finds the hold in durable state: still counted, its age kept.
    backlog = world.notifier().backlog()
    assert (backlog.held_for_review, backlog.oldest_hold) == (1, timedelta(hours=5))
    # Held is not retrying: the pending-delivery gauges (and their page) stay quiet.
    assert (backlog.retrying, backlog.oldest_retry) == (0, None)

    await notifier.handle(COMPLAINT_ID, NoteRecorded("note-1", "exec.office"), Cause("n", "c"))
    backlog = notifier.backlog()
    assert (backlog.held_for_review, backlog.oldest_hold) == (0, None)


async def test_the_timeline_hears_once_that_a_response_waits_for_review() -> None:
    world = ReviewWorld()
    notifier = world.notifier()
    await sampled_and_resolved(world, notifier)
    # Replayed, retried on the timer, and after a restart: one announcement.
    await notifier.handle(COMPLAINT_ID, Resolved("resolved", NOW), Cause("resolved", "c"))
    world.clock.advance(days=1)
    await notifier.retry_due()
    await world.notifier().retry_due()

    [(complaint_id, hold, cause)] = world.events.announced_holds
    assert complaint_id == COMPLAINT_ID and cause.event_id == "resolved"
    assert (hold.purpose, hold.channel) == ("final_response", "email")
    assert hold.release_at == FINAL_DUE - REVIEW.margin
    assert world.events.announced_sent[-1][1].purpose == "acknowledgement"  # nothing else sent
