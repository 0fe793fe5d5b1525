"""Notifier.acknowledge: each complaint is acknowledged once, on its channel, or says why not."""

from __future__ import annotations

import pytest

from kintsugi.common.ids import Cause
from services.notifier.domain.messages import MessageComposer
from services.notifier.service import (
    ACKNOWLEDGEMENT,
    Delivery,
    DeliveryRejected,
    Notifier,
    UnknownComplaint,
)
from tests.unit.notifier.fakes import (
    COMPLAINT_ID,
    FakeEmail,
    InMemoryCases,
    RecordedNotifications,
    a_case,
)

CAUSE = Cause(event_id="assigned-1", correlation_id="received-1")
COMPOSER = MessageComposer("Kintsugi Financial")


@pytest.fixture
def cases() -> InMemoryCases:
    return InMemoryCases(a_case())


@pytest.fixture
def email() -> FakeEmail:
    return FakeEmail()


@pytest.fixture
def events() -> RecordedNotifications:
    return RecordedNotifications()


@pytest.fixture
def notifier(cases: InMemoryCases, email: FakeEmail, events: RecordedNotifications) -> Notifier:
    return Notifier(cases, email, events, COMPOSER)


async def acknowledge(notifier: Notifier, handler: str = "Mei Chen") -> Delivery | None:
    return await notifier.acknowledge(COMPLAINT_ID, handler, "Fraud Response", CAUSE)


async def test_the_customer_gets_one_acknowledgement_email_signed_by_their_handler(
    notifier: Notifier, email: FakeEmail, events: RecordedNotifications
) -> None:
    delivery = await acknowledge(notifier)

    [sent] = email.sent
    assert sent.to == "jane.doe@example.com"
    assert sent.complaint_id == COMPLAINT_ID
    assert sent.message.signed_by == "Mei Chen"
    assert "within 8 weeks" in sent.message.body
    assert events.announced_sent == [(COMPLAINT_ID, delivery, CAUSE)]
    assert events.announced_failed == []


async def test_the_delivery_records_what_went_where_and_the_providers_message_id(
    notifier: Notifier, email: FakeEmail
) -> None:
    delivery = await acknowledge(notifier)

    assert delivery is not None
    assert delivery.purpose == ACKNOWLEDGEMENT
    assert delivery.channel == "email"
    assert delivery.recipient == "jane.doe@example.com"
    assert delivery.signed_by == "Mei Chen"
    assert delivery.notification_id == email.sent[0].notification_id
    assert delivery.provider_message_id == email.message_id_for(delivery.notification_id)


async def test_the_handler_is_remembered_and_the_send_recorded_on_the_case(
    notifier: Notifier, cases: InMemoryCases
) -> None:
    delivery = await acknowledge(notifier)

    case = cases.get(COMPLAINT_ID)
    assert case is not None and delivery is not None
    assert (case.handler_name, case.team_name) == ("Mei Chen", "Fraud Response")
    assert case.outcome(delivery.notification_id) == "sent"


async def test_a_second_acknowledge_does_not_email_again_but_re_announces_sent(
    notifier: Notifier, email: FakeEmail, events: RecordedNotifications
) -> None:
    first = await acknowledge(notifier)
    second = await acknowledge(notifier)

    assert len(email.sent) == 1
    assert second == first
    assert [d for _, d, _ in events.announced_sent] == [first, first]


async def test_a_restarted_notifier_with_the_same_store_does_not_email_again(
    cases: InMemoryCases, events: RecordedNotifications
) -> None:
    before, after = FakeEmail(), FakeEmail()
    await acknowledge(Notifier(cases, before, events, COMPOSER))

    await acknowledge(Notifier(cases, after, events, COMPOSER))

    assert (len(before.sent), len(after.sent)) == (1, 0)
    assert len(events.announced_sent) == 2


async def test_a_later_reassignment_does_not_change_who_signed_the_acknowledgement(
    notifier: Notifier, events: RecordedNotifications
) -> None:
    await acknowledge(notifier, handler="Mei Chen")
    await acknowledge(notifier, handler="Oliver Smith")

    assert [d.signed_by for _, d, _ in events.announced_sent] == ["Mei Chen", "Mei Chen"]


async def test_a_web_form_complaint_is_acknowledged_by_email(
    cases: InMemoryCases, email: FakeEmail, events: RecordedNotifications
) -> None:
    await cases.save(a_case(channel="web_form"))

    await acknowledge(Notifier(cases, email, events, COMPOSER))

    assert [s.to for s in email.sent] == ["jane.doe@example.com"]


@pytest.mark.parametrize(
    "channel", ["letter", "phone", "sms", "chat", "social_public", "social_private", "branch"]
)
async def test_a_channel_without_a_sender_is_reported_failed_with_the_reason_not_emailed(
    cases: InMemoryCases, email: FakeEmail, events: RecordedNotifications, channel: str
) -> None:
    await cases.save(a_case(channel=channel))

    delivery = await acknowledge(Notifier(cases, email, events, COMPOSER))

    assert delivery is None
    assert email.attempts == 0
    assert events.announced_sent == []
    [failed] = events.announced_failed
    assert (failed.complaint_id, failed.purpose, failed.channel) == (
        COMPLAINT_ID,
        ACKNOWLEDGEMENT,
        channel,
    )
    assert failed.reason == f"no sender for channel '{channel}' yet"
    assert failed.cause == CAUSE


async def test_a_rejected_email_is_reported_failed_with_the_providers_reason(
    cases: InMemoryCases, events: RecordedNotifications
) -> None:
    email = FakeEmail(failure=DeliveryRejected("550 mailbox unavailable"))

    delivery = await acknowledge(Notifier(cases, email, events, COMPOSER))

    assert delivery is None
    [failed] = events.announced_failed
    assert (failed.channel, failed.reason) == ("email", "550 mailbox unavailable")
    assert events.announced_sent == []
    case = cases.get(COMPLAINT_ID)
    assert case is not None and case.outcome(failed.notification_id) == "rejected"


async def test_a_rejected_email_is_not_retried(
    cases: InMemoryCases, events: RecordedNotifications
) -> None:
    email = FakeEmail(failure=DeliveryRejected("550 mailbox unavailable"))
    notifier = Notifier(cases, email, events, COMPOSER)
    await acknowledge(notifier)

    email.failure = None  # even if the mailbox would now accept it
    again = await acknowledge(notifier)

    assert again is None
    assert email.attempts == 1
    assert email.sent == []
    assert len(events.announced_failed) == 1
    assert events.announced_sent == []


async def test_a_transient_send_failure_is_raised_and_a_retry_then_sends(
    cases: InMemoryCases, events: RecordedNotifications
) -> None:
    email = FakeEmail(failure=ConnectionError("smtp timeout"))
    notifier = Notifier(cases, email, events, COMPOSER)

    with pytest.raises(ConnectionError):
        await acknowledge(notifier)
    assert events.announced_sent == []
    assert events.announced_failed == []

    email.failure = None
    delivery = await acknowledge(notifier)

    assert delivery is not None
    assert len(email.sent) == 1


async def test_acknowledging_a_complaint_never_received_is_an_unknown_complaint(
    email: FakeEmail, events: RecordedNotifications
) -> None:
    notifier = Notifier(InMemoryCases(), email, events, COMPOSER)

    with pytest.raises(UnknownComplaint, match="no-such-complaint"):
        await notifier.acknowledge("no-such-complaint", "Mei Chen", "Fraud Response", CAUSE)

    assert email.attempts == 0
    assert events.announced_sent == []
    assert events.announced_failed == []


async def test_the_notification_id_is_the_same_however_often_and_wherever_it_is_computed(
    cases: InMemoryCases, events: RecordedNotifications
) -> None:
    other_cases = InMemoryCases(a_case())
    first = await acknowledge(Notifier(cases, FakeEmail(), events, COMPOSER))
    elsewhere = await acknowledge(Notifier(other_cases, FakeEmail(), events, COMPOSER))

    assert first is not None and elsewhere is not None
    assert first.notification_id == elsewhere.notification_id


async def test_remember_keeps_the_first_case_seen_for_a_complaint(
    notifier: Notifier, cases: InMemoryCases
) -> None:
    await notifier.remember(a_case(customer_name="Someone Else"))

    case = cases.get(COMPLAINT_ID)
    assert case is not None and case.customer_name == "Jane Doe"


async def test_remember_stores_a_new_complaint(notifier: Notifier, cases: InMemoryCases) -> None:
    await notifier.remember(a_case(complaint_id="new-complaint"))

    assert cases.get("new-complaint") is not None


async def test_the_regime_noted_after_receipt_decides_the_promise_in_the_acknowledgement(
    email: FakeEmail, events: RecordedNotifications
) -> None:
    notifier = Notifier(InMemoryCases(), email, events, COMPOSER)
    await notifier.remember(a_case(regime=""))

    await notifier.note_classification(COMPLAINT_ID, "uk-psd2-emoney", "fees")
    await acknowledge(notifier)

    assert "within 15 business days" in email.sent[0].message.body


async def test_noting_the_regime_of_an_unknown_complaint_is_harmless(
    notifier: Notifier, cases: InMemoryCases
) -> None:
    await notifier.note_classification("unknown", "us-cfpb", "fees")

    assert cases.saved == []
