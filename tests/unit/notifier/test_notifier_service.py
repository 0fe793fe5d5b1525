"""Notifier: each trigger's messages go out once, on the customer's channel, or say why not;
failures wait durably and go out on their own schedule; a dead channel hands over."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from kintsugi.common.ids import Cause, derived_id
from services.notifier.domain.breaker import CircuitBreakers
from services.notifier.domain.case import FAILED, PENDING, SENT
from services.notifier.domain.messages import MessageComposer
from services.notifier.domain.planner import (
    ClockInfo,
    DeadlineWarning,
    Resolved,
    UpdateDue,
)
from services.notifier.domain.retry import permanent, smtp_failure, transient
from services.notifier.service import (
    ACKNOWLEDGEMENT,
    Delivery,
    Notifier,
    RetriesFailed,
    UnknownComplaint,
)
from tests.unit.notifier.fakes import (
    COMPLAINT_ID,
    FakeClock,
    FakeSender,
    InMemoryCases,
    RecordedNotifications,
    a_case,
)

CAUSE = Cause(event_id="assigned-1", correlation_id="received-1")
COMPOSER = MessageComposer("Kintsugi Financial")
CADENCE = ClockInfo("int-progress-high", "progress_update", 0, False)
FINAL_8WK = ClockInfo("fca-final-8wk", "final_response", 0, True)


class World:
    def __init__(self, *cases: object, channels: tuple[str, ...] = ("email", "sms")) -> None:
        self.cases = InMemoryCases(*cases)  # type: ignore[arg-type]
        self.clock = FakeClock()
        self.senders = {c: FakeSender(c) for c in channels}
        self.events = RecordedNotifications()
        self.notifier = Notifier(
            self.cases,
            self.senders,
            self.events,
            COMPOSER,
            self.clock,
            breakers=CircuitBreakers(failure_threshold=3, cooldown=timedelta(seconds=30)),
        )

    @property
    def email(self) -> FakeSender:
        return self.senders["email"]

    @property
    def sms(self) -> FakeSender:
        return self.senders["sms"]

    def restarted(self) -> Notifier:
        """A new process over the same durable state."""
        notifier = Notifier(self.cases, self.senders, self.events, COMPOSER, self.clock)
        notifier.reindex()
        return notifier


@pytest.fixture
def world() -> World:
    return World(a_case())


async def acknowledge(notifier: Notifier, handler: str = "Mei Chen") -> list[Delivery]:
    return await notifier.acknowledge(COMPLAINT_ID, handler, "Fraud Response", CAUSE)


async def test_the_customer_gets_one_acknowledgement_email_signed_by_their_handler(
    world: World,
) -> None:
    [delivery] = await acknowledge(world.notifier)

    [sent] = world.email.sent
    assert sent.recipient == "jane.doe@example.com"
    assert sent.message.signed_by == "Mei Chen"
    assert "within 8 weeks" in sent.message.body
    assert delivery.purpose == ACKNOWLEDGEMENT and delivery.channel == "email"
    assert delivery.provider_message_id == world.email.provider_message_id(sent.notification_id)
    assert world.events.announced_sent == [(COMPLAINT_ID, delivery, CAUSE)]
    assert world.events.announced_failed == []


async def test_a_replayed_assignment_sends_nothing_new_but_announces_sent_again(
    world: World,
) -> None:
    first = await acknowledge(world.notifier)
    again = await acknowledge(world.notifier, handler="Someone Else")

    assert len(world.email.sent) == 1
    assert again == first
    assert len(world.events.announced_sent) == 2  # same derived event id: one on the timeline


async def test_a_queued_complaint_is_acknowledged_at_once_by_the_team_and_only_once(
    world: World,
) -> None:
    await acknowledge(world.notifier, handler="")  # queued: the team, nobody named yet
    await acknowledge(world.notifier, handler="Mei Chen")  # later assigned

    [sent] = world.email.sent
    assert sent.message.signed_by == "The Kintsugi Financial complaints team"
    case = world.cases.get(COMPLAINT_ID)
    assert case is not None and case.handler_name == "Mei Chen"  # signs what follows


async def test_a_restarted_notifier_over_the_same_state_does_not_email_again(
    world: World,
) -> None:
    await acknowledge(world.notifier)
    await acknowledge(world.restarted())

    assert len(world.email.sent) == 1


async def test_the_acknowledgement_id_is_the_one_older_versions_recorded(world: World) -> None:
    legacy_id = derived_id(COMPLAINT_ID, "notification", "acknowledgement")
    world.cases.by_complaint[COMPLAINT_ID] = a_case().with_outcome(legacy_id, "sent")

    [delivery] = await acknowledge(world.notifier)

    assert world.email.sent == []
    assert delivery.notification_id == legacy_id


async def test_an_sms_complaint_is_answered_by_sms() -> None:
    world = World(a_case(channel="sms"))
    await acknowledge(world.notifier)

    assert world.email.sent == []
    [sent] = world.sms.sent
    assert sent.recipient == "+447700900123"
    assert len(sent.message.body) <= 459


async def test_a_phone_complaint_gets_a_written_acknowledgement_by_email() -> None:
    world = World(a_case(channel="phone"))
    await acknowledge(world.notifier)

    assert len(world.email.sent) == 1


async def test_a_transient_failure_is_kept_pending_and_announced_once_with_its_retry_time(
    world: World,
) -> None:
    world.email.failures.append(smtp_failure(451, "greylisted, try later", "RCPT"))

    assert await acknowledge(world.notifier) == []

    entry = world.cases.get(COMPLAINT_ID).pending()  # type: ignore[union-attr]
    [(_nid, pending)] = entry.items()
    assert pending.status == PENDING and pending.attempts == 1
    [failure] = world.events.failures
    assert "451" in failure.reason and "RCPT" in failure.reason
    assert failure.next_attempt_at == pending.due_at
    assert failure.next_attempt_at is not None and failure.next_attempt_at > world.clock.now
    assert world.notifier.pending == {COMPLAINT_ID: pending.due_at}


async def test_a_pending_message_goes_out_when_its_time_comes_without_new_events(
    world: World,
) -> None:
    world.email.failures.append(transient("connection refused"))
    await acknowledge(world.notifier)

    assert await world.notifier.retry_due() == 0  # not yet
    world.clock.advance(minutes=1)
    assert await world.notifier.retry_due() == 1

    assert len(world.email.sent) == 1
    assert world.notifier.pending == {}
    [(_, _delivery, cause)] = world.events.announced_sent
    assert cause == CAUSE  # the retry answers the event that asked for the message


class RefusingAnnouncements(RecordedNotifications):
    """The events topic refuses announcements for one complaint (the broker away)."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused

    async def sent(self, complaint_id: str, delivery: Delivery, cause: Cause) -> None:
        if complaint_id == self.refused:
            raise ConnectionError("the broker is away")
        await super().sent(complaint_id, delivery, cause)


async def test_one_complaints_failing_retry_does_not_hold_up_the_others() -> None:
    other = "c-other"
    world = World(a_case(), a_case(complaint_id=other, email="sam@example.com"))
    world.events = world.notifier._events = RefusingAnnouncements(COMPLAINT_ID)  # type: ignore[assignment]
    world.email.failures += [transient("connection refused")] * 2
    await acknowledge(world.notifier)
    await world.notifier.acknowledge(other, "Mei Chen", "Fraud Response", CAUSE)
    world.clock.advance(minutes=1)

    with pytest.raises(RetriesFailed) as failed:
        await world.notifier.retry_due()

    assert set(failed.value.failures) == {COMPLAINT_ID}
    assert [c for c, _, _ in world.events.announced_sent] == [other]  # the other went out
    assert COMPLAINT_ID in world.notifier.pending  # still due: tried again next pass


async def test_a_pending_message_survives_a_restart_and_goes_out_once(world: World) -> None:
    world.email.failures.append(transient("connection refused"))
    await acknowledge(world.notifier)

    restarted = world.restarted()
    world.clock.advance(minutes=1)
    await restarted.retry_due()
    await acknowledge(restarted)  # the assignment replayed as well

    assert len(world.email.sent) == 1


async def test_a_replayed_trigger_does_not_jump_a_pending_messages_queue(world: World) -> None:
    world.email.failures.append(transient("connection refused"))
    await acknowledge(world.notifier)
    await acknowledge(world.notifier)

    assert world.email.attempts == 1


async def test_retries_stop_at_the_horizon_and_the_timeline_hears_it_was_given_up(
    world: World,
) -> None:
    world.email.always = transient("connection refused")
    await acknowledge(world.notifier)
    started = world.clock.now
    while world.notifier.pending:
        world.clock.advance(minutes=1)
        await world.notifier.retry_due()

    case = world.cases.get(COMPLAINT_ID)
    assert case is not None
    [entry] = case.ledger.values()
    assert entry.status == FAILED
    final = world.events.failures[-1]
    assert final.next_attempt_at is None
    assert timedelta(hours=23) <= world.clock.now - started <= timedelta(hours=24, minutes=1)
    assert 1 < len(world.events.failures) < 10  # the first delay and the end, not every retry
    assert world.notifier.pending == {}


async def test_a_bounced_email_falls_back_to_sms_and_the_timeline_says_so(world: World) -> None:
    world.email.failures.append(smtp_failure(550, "no such user", "RCPT"))

    [delivery] = await acknowledge(world.notifier)

    assert delivery.channel == "sms"
    assert len(world.sms.sent) == 1
    [failure] = world.events.failures
    assert failure.channel == "email" and failure.fallback_channel == "sms"
    assert failure.next_attempt_at is None


async def test_a_permanent_failure_with_no_fallback_is_given_up_and_never_retried() -> None:
    world = World(a_case(phone=""), channels=("email",))
    world.email.failures.append(permanent("SMTP 550 at RCPT: no such user"))

    assert await acknowledge(world.notifier) == []
    await acknowledge(world.notifier)
    world.clock.advance(hours=1)
    await world.notifier.retry_due()

    assert world.email.attempts == 1
    [failure] = world.events.failures
    assert failure.fallback_channel == "" and failure.next_attempt_at is None


async def test_a_channel_without_a_sender_and_no_fallback_is_reported_not_dropped() -> None:
    world = World(a_case(channel="letter"), channels=("email",))

    await acknowledge(world.notifier)

    [failure] = world.events.failures
    assert "no channel left" in failure.reason


async def test_an_open_circuit_defers_deliveries_without_trying_the_provider() -> None:
    cases = [a_case(complaint_id=f"c-{n}", channel="email") for n in range(6)]
    world = World(*cases, channels=("email",))
    world.email.always = transient("timed out")
    for case in cases:
        await world.notifier.acknowledge(case.complaint_id, "Mei", "T", CAUSE)

    assert world.email.attempts == 3  # the threshold; the other three never waited on it
    assert len(world.notifier.pending) == 6
    assert not world.notifier.breakers.healthy("email-provider", world.clock.now)

    world.email.always = None
    world.clock.advance(minutes=15)
    await world.notifier.retry_due()
    assert {s.complaint_id for s in world.email.sent} == {c.complaint_id for c in cases}
    assert world.notifier.breakers.healthy("email-provider", world.clock.now)


async def test_a_progress_update_goes_out_once_per_cadence_cycle(world: World) -> None:
    await acknowledge(world.notifier)
    due = UpdateDue(CADENCE, world.clock.now + timedelta(hours=4), world.clock.now)

    await world.notifier.handle(COMPLAINT_ID, due, Cause("due-1", "c"))
    await world.notifier.handle(COMPLAINT_ID, due, Cause("due-1", "c"))
    next_cycle = replace(due, clock=replace(CADENCE, cycle=1))
    await world.notifier.handle(COMPLAINT_ID, next_cycle, Cause("due-2", "c"))

    purposes = [s.message.subject for s in world.email.sent]
    assert len(purposes) == 3
    assert sum("update" in p for p in purposes) == 2


async def test_warnings_and_the_update_lead_on_one_deadline_give_one_holding_response(
    world: World,
) -> None:
    await acknowledge(world.notifier)
    due_at = world.clock.now + timedelta(days=7)
    for trigger in (
        DeadlineWarning(FINAL_8WK, 50, due_at),  # too early for a delay notice
        UpdateDue(FINAL_8WK, due_at, world.clock.now),
        DeadlineWarning(FINAL_8WK, 75, due_at),
        DeadlineWarning(FINAL_8WK, 90, due_at),
    ):
        await world.notifier.handle(COMPLAINT_ID, trigger, Cause("w", "c"))

    holding = [s for s in world.email.sent if "answer yet" in s.message.subject]
    assert len(holding) == 1
    assert "Financial Ombudsman" in holding[0].message.body


async def test_after_resolution_no_delay_notice_or_progress_update_follows(
    world: World,
) -> None:
    await acknowledge(world.notifier)
    await world.notifier.handle(
        COMPLAINT_ID, Resolved("activity-9", world.clock.now), Cause("activity-9", "c")
    )
    await world.notifier.handle(
        COMPLAINT_ID, DeadlineWarning(FINAL_8WK, 90, world.clock.now), Cause("w", "c")
    )
    await world.notifier.handle(
        COMPLAINT_ID, UpdateDue(CADENCE, world.clock.now, world.clock.now), Cause("u", "c")
    )

    subjects = [s.message.subject for s in world.email.sent]
    assert len(subjects) == 2
    assert "Our response" in subjects[1]
    assert "six months" in world.email.sent[1].message.body


async def test_a_resolution_replayed_after_its_response_was_recorded_announces_it_again(
    world: World,
) -> None:
    # The process died after the final response was recorded sent (with the case now
    # resolved) but before its announcement left: the replay must announce it, not skip
    # it because the case is resolved. An update due before the crash is announced too.
    await acknowledge(world.notifier)
    resolved = Resolved("activity-9", world.clock.now)
    update = UpdateDue(CADENCE, world.clock.now, world.clock.now)
    await world.notifier.handle(COMPLAINT_ID, update, Cause("u", "c"))
    await world.notifier.handle(COMPLAINT_ID, resolved, Cause("activity-9", "c"))
    before_crash = list(world.events.announced_sent)
    world.events.announced_sent.clear()

    restarted = world.restarted()
    await restarted.handle(COMPLAINT_ID, update, Cause("u", "c"))
    await restarted.handle(COMPLAINT_ID, resolved, Cause("activity-9", "c"))
    await restarted.handle(COMPLAINT_ID, Resolved("activity-10", world.clock.now), Cause("a", "c"))

    assert len(world.email.sent) == 3  # acknowledgement, update, response: none again
    assert world.events.announced_sent == before_crash[1:]  # the update and the response


async def test_a_public_complaint_gets_a_public_reply_without_personal_data_and_a_private_one() -> (
    None
):
    world = World(
        a_case(channel="social_public", social_handle="@jane_d", customer_name="Jane Doe"),
        channels=("email", "social_public", "social_private"),
    )

    deliveries = await acknowledge(world.notifier)

    assert [d.channel for d in deliveries] == ["social_public", "social_private"]
    [public] = world.senders["social_public"].sent
    assert "Jane" not in public.message.body and "Doe" not in public.message.body
    assert COMPLAINT_ID.replace("-", "")[:10].upper() not in public.message.body
    [private] = world.senders["social_private"].sent
    assert "Jane Doe" in private.message.body


async def test_acknowledging_a_complaint_never_received_is_an_unknown_complaint() -> None:
    world = World()
    with pytest.raises(UnknownComplaint, match=COMPLAINT_ID):
        await acknowledge(world.notifier)


async def test_the_regime_noted_after_receipt_decides_the_promise(world: World) -> None:
    await world.notifier.note_classification(COMPLAINT_ID, "uk-psd2-emoney", "")
    await acknowledge(world.notifier)

    assert "15 business days" in world.email.sent[0].message.body
    assert "35 business days" in world.email.sent[0].message.body


async def test_remember_keeps_the_first_case_seen_for_a_complaint(world: World) -> None:
    await world.notifier.remember(a_case(customer_name="Someone Else"))

    assert world.cases.get(COMPLAINT_ID) == a_case()


async def test_a_sent_message_is_recorded_in_the_ledger_with_the_providers_id(
    world: World,
) -> None:
    await acknowledge(world.notifier)

    case = world.cases.get(COMPLAINT_ID)
    assert case is not None
    [entry] = case.ledger.values()
    assert entry.status == SENT and entry.channel == "email" and entry.attempts == 1
    assert entry.provider_message_id.startswith("<")


async def test_words_too_long_for_an_sms_go_by_email_instead_and_the_timeline_says_so() -> None:
    # Found by fuzzing: a handler's name long enough to push the short form past 459
    # characters raised on every retry, and the customer was never acknowledged.
    world = World(a_case(channel="sms"))

    [delivery] = await acknowledge(world.notifier, handler="Mei " + "Chen-" * 60)

    assert delivery.channel == "email" and len(world.email.sent) == 1
    assert world.sms.attempts == 0  # the gateway was never asked, nor blamed
    [failure] = world.events.failures
    assert failure.channel == "sms" and failure.fallback_channel == "email"
    assert "the sms limit is" in failure.reason
