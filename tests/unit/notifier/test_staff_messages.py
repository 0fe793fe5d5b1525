"""Staff messages: an escalation reaches its named target, the "call the customer" task
reaches the owner, each exactly once, by email from the staff directory, never the
customer, with the reasons in the body."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kintsugi.common.config_files import ConfigFileError
from kintsugi.common.ids import Cause
from services.notifier.domain.breaker import CircuitBreakers
from services.notifier.domain.case import FAILED, PENDING, SENT, Case
from services.notifier.domain.messages import MessageComposer
from services.notifier.domain.planner import ACKNOWLEDGEMENT, Assigned, PlanRules, notification_id
from services.notifier.domain.retry import permanent, smtp_failure, transient
from services.notifier.domain.staff import (
    STAFF_CALL_CUSTOMER,
    STAFF_DELIVERY_FAILED,
    STAFF_ESCALATION,
    CallRequested,
    Escalated,
)
from services.notifier.service import Notifier
from services.notifier.staff_directory import parse_staff_directory
from tests.unit.notifier.fakes import (
    COMPLAINT_ID,
    FakeClock,
    FakeSender,
    InMemoryCases,
    RecordedNotifications,
    a_case,
)

DIRECTORY = {
    "grace.mensah": "grace.mensah@bank.example",
    "mei.chen": "mei.chen@bank.example",
}
ESCALATED = Escalated(
    "escalated-1",
    2,
    "grace.mensah",
    "Grace Mensah",
    ("final response deadline 90% elapsed", "owner absent"),
)
CALL = CallRequested(
    "call-1", "mei.chen", "Mei Chen", ("three written exchanges without resolution",)
)


class World:
    def __init__(self, directory: dict[str, str] | None = None, case: Case | None = None) -> None:
        self.cases = InMemoryCases(case or a_case(handler_name="Mei Chen", channel="sms"))
        self.clock = FakeClock()
        self.senders = {"email": FakeSender("email"), "sms": FakeSender("sms")}
        self.events = RecordedNotifications()
        self.notifier = Notifier(
            self.cases,
            self.senders,
            self.events,
            MessageComposer("Kintsugi Financial"),
            self.clock,
            breakers=CircuitBreakers(failure_threshold=3, cooldown=timedelta(seconds=30)),
            rules=PlanRules(staff_emails=DIRECTORY if directory is None else directory),
        )

    @property
    def email(self) -> FakeSender:
        return self.senders["email"]

    def entry(self, purpose: str, event_id: str):  # type: ignore[no-untyped-def]
        case = self.cases.get(COMPLAINT_ID)
        assert case is not None
        return case.entry(notification_id(COMPLAINT_ID, purpose, event_id))


@pytest.fixture
def world() -> World:
    return World()


async def test_an_escalation_emails_its_named_target_with_the_reasons(world: World) -> None:
    [delivery] = await world.notifier.handle(COMPLAINT_ID, ESCALATED, Cause("escalated-1", "r"))

    [mail] = world.email.sent
    assert mail.recipient == "grace.mensah@bank.example"
    assert "Escalated to you" in mail.message.subject
    assert "Hello Grace Mensah" in mail.message.body
    assert "level 2" in mail.message.body
    assert "- final response deadline 90% elapsed\n- owner absent" in mail.message.body
    assert "Card declined" in mail.message.body
    assert delivery.recipient == "grace.mensah@bank.example"
    # The customer (who wrote by SMS) hears nothing of it.
    assert world.senders["sms"].sent == []


async def test_the_call_task_goes_to_the_owner_with_the_customers_number(world: World) -> None:
    await world.notifier.handle(COMPLAINT_ID, CALL, Cause("call-1", "r"))

    [mail] = world.email.sent
    assert mail.recipient == "mei.chen@bank.example"
    assert "Please call the customer" in mail.message.subject
    assert "Please call Jane Doe on +447700900123" in mail.message.body
    assert "- three written exchanges without resolution" in mail.message.body


async def test_each_staff_message_goes_out_once_however_often_its_event_is_replayed(
    world: World,
) -> None:
    for _ in range(3):
        await world.notifier.handle(COMPLAINT_ID, ESCALATED, Cause("escalated-1", "r"))
        await world.notifier.handle(COMPLAINT_ID, CALL, Cause("call-1", "r"))

    assert [m.recipient for m in world.email.sent] == [
        "grace.mensah@bank.example",
        "mei.chen@bank.example",
    ]
    assert world.entry(STAFF_ESCALATION, "escalated-1").status == SENT


async def test_a_second_escalation_event_is_a_second_message(world: World) -> None:
    await world.notifier.handle(COMPLAINT_ID, ESCALATED, Cause("escalated-1", "r"))
    again = Escalated("escalated-2", 3, "grace.mensah", "Grace Mensah", ("breached",))
    await world.notifier.handle(COMPLAINT_ID, again, Cause("escalated-2", "r"))

    assert len(world.email.sent) == 2
    assert world.email.sent[0].notification_id != world.email.sent[1].notification_id


async def test_a_staff_message_is_retried_later_to_the_same_person(world: World) -> None:
    world.email.failures.append(smtp_failure(451, "try later", "RCPT"))
    assert await world.notifier.handle(COMPLAINT_ID, CALL, Cause("call-1", "r")) == []
    assert world.entry(STAFF_CALL_CUSTOMER, "call-1").status == PENDING

    world.clock.advance(minutes=15)
    assert await world.notifier.retry_due() == 1

    [mail] = world.email.sent
    assert mail.recipient == "mei.chen@bank.example"
    assert "- three written exchanges without resolution" in mail.message.body
    assert world.entry(STAFF_CALL_CUSTOMER, "call-1").status == SENT


async def test_a_bounced_staff_message_never_falls_back_to_the_customers_channels(
    world: World,
) -> None:
    world.email.failures.append(permanent("550 no such user"))

    await world.notifier.handle(COMPLAINT_ID, ESCALATED, Cause("escalated-1", "r"))

    assert world.senders["sms"].sent == []
    assert world.entry(STAFF_ESCALATION, "escalated-1").status == FAILED
    [failure] = world.events.failures
    assert failure.purpose == STAFF_ESCALATION and failure.fallback_channel == ""


async def test_a_target_missing_from_the_directory_fails_naming_the_id() -> None:
    world = World(directory={})

    await world.notifier.handle(COMPLAINT_ID, ESCALATED, Cause("escalated-1", "r"))

    assert world.email.sent == [] and world.senders["sms"].sent == []
    [failure] = world.events.failures
    assert "'grace.mensah'" in failure.reason and "staff directory" in failure.reason
    assert failure.channel == "email"  # a staff message, whatever the customer's channel
    assert world.entry(STAFF_ESCALATION, "escalated-1").status == FAILED


async def test_control_characters_in_names_and_reasons_do_not_reach_headers(
    world: World,
) -> None:
    hostile = Escalated("e-9", 1, "grace.mensah", "Grace\r\nBcc: x@evil.example", ("a\x07b",))
    await world.notifier.handle(COMPLAINT_ID, hostile, Cause("e-9", "r"))

    [mail] = world.email.sent
    assert "\r" not in mail.message.body and "\x07" not in mail.message.body
    assert "\nBcc:" not in mail.message.body


def test_the_staff_directory_maps_ids_to_addresses() -> None:
    text = "staff:\n  grace.mensah: grace.mensah@bank.example\n"
    assert parse_staff_directory(text) == {"grace.mensah": "grace.mensah@bank.example"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("staff:\n  a.b: nope\n", "2: staff.a.b: must be one bare email address"),
        (
            'staff:\n  a.b: "a@b.example\\nBcc: c@d.example"\n',
            "2: staff.a.b: must be one bare email address",
        ),
        ("staff:\n  a.b: a@b.example\n  a.b: c@b.example\n", "3: staff.a.b: duplicate key"),
        ("staf: {}\n", "staf: unknown field"),
    ],
)
def test_a_bad_staff_directory_is_refused_naming_line_and_field(text: str, expected: str) -> None:
    with pytest.raises(ConfigFileError, match=expected.replace(".", r"\.")):
        parse_staff_directory(text, "staff.yaml")


# An SMS complaint with no email address: a bounced SMS has nowhere to fall back to.
SMS_ONLY = a_case(channel="sms", email="")
OWNER = Assigned("Mei Chen", "Cards", "mei.chen")


async def test_the_owner_hears_once_when_the_customer_cannot_be_reached() -> None:
    world = World(case=SMS_ONLY)
    world.senders["sms"].always = permanent("invalid number")

    for _ in range(2):  # the assignment redelivered
        await world.notifier.handle(COMPLAINT_ID, OWNER, Cause("assigned-1", "r"))

    [alert] = world.email.sent
    assert alert.recipient == "mei.chen@bank.example"
    assert "Customer not reached" in alert.message.subject
    assert "could not deliver the acknowledgement to Jane Doe" in alert.message.body
    assert "- invalid number" in alert.message.body
    ack = notification_id(COMPLAINT_ID, ACKNOWLEDGEMENT, "assigned")
    assert world.entry(STAFF_DELIVERY_FAILED, ack).status == SENT


async def test_the_owner_hears_when_retries_run_out_at_the_horizon() -> None:
    world = World(case=SMS_ONLY)
    world.senders["sms"].always = transient("gateway 503")

    await world.notifier.handle(COMPLAINT_ID, OWNER, Cause("assigned-1", "r"))
    assert world.email.sent == []  # still retrying: nobody is bothered yet
    for _ in range(200):
        world.clock.advance(minutes=10)
        await world.notifier.retry_due()

    [alert] = world.email.sent
    assert alert.recipient == "mei.chen@bank.example"
    assert "Customer not reached" in alert.message.subject


async def test_a_complaint_nobody_owns_yet_raises_no_staff_alert() -> None:
    world = World(case=SMS_ONLY)
    world.senders["sms"].always = permanent("invalid number")

    await world.notifier.handle(COMPLAINT_ID, Assigned("", "Cards"), Cause("queued-1", "r"))

    assert world.email.sent == []
    assert [f.purpose for f in world.events.failures] == [ACKNOWLEDGEMENT]


async def test_a_failed_staff_alert_raises_no_alert_about_itself() -> None:
    world = World(case=SMS_ONLY)
    world.senders["sms"].always = permanent("invalid number")
    world.email.always = permanent("550 no such user")

    await world.notifier.handle(COMPLAINT_ID, OWNER, Cause("assigned-1", "r"))

    assert [f.purpose for f in world.events.failures] == [ACKNOWLEDGEMENT, STAFF_DELIVERY_FAILED]
