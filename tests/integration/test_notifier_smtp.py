"""Email delivery against a real SMTP server (aiosmtpd) that misbehaves on request.

The server can answer 4xx or 5xx to RCPT or DATA, drop the connection at DATA, stall
before answering, or not be there at all. Messages are counted where the customer would
see them: at the server.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from kintsugi.common.ids import Cause
from services.notifier.adapters.smtp import SmtpEmailSender, SmtpPool, SmtpServer
from services.notifier.domain.breaker import CircuitBreakers
from services.notifier.domain.case import PENDING, SENT
from services.notifier.domain.messages import ComposedMessage, MessageComposer
from services.notifier.domain.retry import DeliveryFailure, FailureKind
from services.notifier.service import Notifier
from tests.unit.notifier.fakes import (
    FakeClock,
    InMemoryCases,
    RecordedNotifications,
    a_case,
)
from tools.devstack.processes import free_port

MESSAGE = ComposedMessage("Subject", "Dear Jane,\n\nHello.\n", "Mei Chen")


@dataclass
class Behaviour:
    rcpt: str | None = None  # e.g. "450 4.2.0 greylisted"
    data: str | None = None  # e.g. "451 4.3.0 try later"
    drop_at_data: bool = False
    stall_s: float = 0.0


@dataclass
class MisbehavingMailbox:
    behaviour: Behaviour = field(default_factory=Behaviour)
    received: list[email.message.EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.behaviour.rcpt:
            return self.behaviour.rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.behaviour.stall_s:
            await asyncio.sleep(self.behaviour.stall_s)
        if self.behaviour.drop_at_data:
            server.transport.close()
            return "421 closing"
        if self.behaviour.data:
            return self.behaviour.data
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.received.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted"

    def count(self, message_id: str) -> int:
        with self.lock:
            return sum(1 for m in self.received if m["Message-ID"] == message_id)


@pytest.fixture
def mailbox() -> Iterator[tuple[MisbehavingMailbox, int]]:
    handler = MisbehavingMailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def email_sender(port: int, **server: Any) -> SmtpEmailSender:
    pool = SmtpPool(SmtpServer("127.0.0.1", port, **{"timeout_s": 2.0, **server}))
    return SmtpEmailSender(
        pool,
        from_address="complaints@kintsugi.example",
        from_name="Kintsugi Financial",
        clock=lambda: datetime.now(UTC),
    )


async def send(sender: SmtpEmailSender, notification_id: str = "n-1") -> str:
    return await sender.send(
        recipient="jane@example.com",
        message=MESSAGE,
        notification_id=notification_id,
        complaint_id="c-1",
    )


async def failure_of(sender: SmtpEmailSender) -> DeliveryFailure:
    with pytest.raises(DeliveryFailure) as raised:
        await send(sender)
    return raised.value


async def test_a_message_arrives_once_with_its_message_id(
    mailbox: tuple[MisbehavingMailbox, int],
) -> None:
    handler, port = mailbox
    message_id = await send(email_sender(port))

    assert handler.count(message_id) == 1
    assert handler.received[0]["Date"].endswith("+0000")


@pytest.mark.parametrize(
    ("behaviour", "kind", "stage"),
    [
        (Behaviour(rcpt="450 4.2.0 Greylisted, try again later"), FailureKind.TRANSIENT, "RCPT"),
        (Behaviour(rcpt="550 5.1.1 No such user"), FailureKind.PERMANENT, "RCPT"),
        (Behaviour(data="451 4.3.0 Local problem"), FailureKind.TRANSIENT, "DATA"),
        (Behaviour(data="554 5.7.1 Rejected"), FailureKind.PERMANENT, "DATA"),
        (Behaviour(drop_at_data=True), FailureKind.TRANSIENT, "disconnected"),
        (Behaviour(stall_s=5), FailureKind.TRANSIENT, "timeout"),
    ],
)
async def test_each_misbehaviour_is_classified_as_a_mail_server_means_it(
    mailbox: tuple[MisbehavingMailbox, int], behaviour: Behaviour, kind: FailureKind, stage: str
) -> None:
    handler, port = mailbox
    handler.behaviour = behaviour

    failure = await failure_of(email_sender(port, timeout_s=1.0))

    assert failure.kind is kind
    assert stage in failure.reason
    assert handler.received == []


async def test_a_server_that_is_not_there_is_a_transient_failure() -> None:
    failure = await failure_of(email_sender(free_port()))

    assert failure.kind is FailureKind.TRANSIENT


async def test_the_pool_reuses_connections_and_recovers_after_a_failure(
    mailbox: tuple[MisbehavingMailbox, int],
) -> None:
    handler, port = mailbox
    sender = email_sender(port, max_connections=2)
    await asyncio.gather(*(send(sender, f"n-{i}") for i in range(20)))
    handler.behaviour = Behaviour(data="451 4.3.0 busy")
    await failure_of(sender)
    handler.behaviour = Behaviour()
    await send(sender, "n-after")

    assert len(handler.received) == 21


async def test_a_stalled_server_holds_no_more_than_its_own_connections(
    mailbox: tuple[MisbehavingMailbox, int],
) -> None:
    """One slow relay must not stall delivery elsewhere: its pool is bounded, and the
    notifier's attempt timeout returns every waiting delivery to the retry schedule."""
    stalled, stalled_port = mailbox
    stalled.behaviour = Behaviour(stall_s=4)
    healthy = MisbehavingMailbox()
    controller = Controller(healthy, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        slow = email_sender(stalled_port, max_connections=2, timeout_s=60)
        fast = email_sender(controller.port)

        async def attempt(n: int) -> None:
            try:
                async with asyncio.timeout(1.0):
                    await send(slow, f"slow-{n}")
            except TimeoutError:
                pass

        started = time.monotonic()
        stuck = [asyncio.create_task(attempt(n)) for n in range(10)]
        await asyncio.gather(*(send(fast, f"fast-{n}") for n in range(10)))
        fast_done = time.monotonic() - started
        await asyncio.gather(*stuck)

        assert len(healthy.received) == 10
        assert fast_done < 1.0  # the healthy server's mail did not queue behind the stall
    finally:
        controller.stop()


async def test_greylisted_mail_is_retried_and_delivered_once_through_the_notifier(
    mailbox: tuple[MisbehavingMailbox, int],
) -> None:
    handler, port = mailbox
    handler.behaviour = Behaviour(rcpt="451 4.7.1 Greylisted")
    clock = FakeClock()
    cases = InMemoryCases(a_case())
    notifier = Notifier(
        cases,
        {"email": email_sender(port)},
        RecordedNotifications(),
        MessageComposer("Kintsugi Financial"),
        clock,
    )
    cause = Cause("assigned-1", "received-1")

    assert await notifier.acknowledge(a_case().complaint_id, "Mei Chen", "Cards", cause) == []
    [entry] = cases.get(a_case().complaint_id).ledger.values()  # type: ignore[union-attr]
    assert entry.status == PENDING

    handler.behaviour = Behaviour()
    clock.advance(minutes=1)
    await notifier.retry_due()
    await notifier.acknowledge(a_case().complaint_id, "Mei Chen", "Cards", cause)  # replay
    await notifier.retry_due()

    [entry] = cases.get(a_case().complaint_id).ledger.values()  # type: ignore[union-attr]
    assert entry.status == SENT
    assert handler.count(entry.provider_message_id) == 1


async def test_an_outage_loses_nothing_and_doubles_nothing(
    mailbox: tuple[MisbehavingMailbox, int],
) -> None:
    """The server refuses DATA while complaints arrive; within a minute of its return
    every acknowledgement has gone out, once."""
    handler, port = mailbox
    handler.behaviour = Behaviour(data="421 4.3.2 Service not available")
    clock = FakeClock()
    cases = [a_case(complaint_id=f"outage-{n}", email=f"c{n}@example.com") for n in range(30)]
    store = InMemoryCases(*cases)
    notifier = Notifier(
        store,
        {"email": email_sender(port, max_connections=4)},
        RecordedNotifications(),
        MessageComposer("Kintsugi Financial"),
        clock,
        breakers=CircuitBreakers(failure_threshold=3, cooldown=timedelta(seconds=30)),
    )
    cause = Cause("assigned", "received")
    for case in cases:
        await notifier.acknowledge(case.complaint_id, "Mei Chen", "Cards", cause)
    for _ in range(10):  # ten minutes of outage, retries on their schedule
        clock.advance(minutes=1)
        await notifier.retry_due()
    assert handler.received == []

    handler.behaviour = Behaviour()
    for _ in range(12):  # one minute of five-second retry ticks
        clock.advance(seconds=5)
        await notifier.retry_due()
    for case in cases:  # a replay of every assignment changes nothing
        await notifier.acknowledge(case.complaint_id, "Mei Chen", "Cards", cause)

    assert sorted(str(m["To"]) for m in handler.received) == sorted(c.email for c in cases)
    assert notifier.pending == {}


@pytest.mark.parametrize(("spare", "accepted"), [(0, True), (-1, False)])
async def test_the_size_declared_at_mail_is_the_size_on_the_wire(
    spare: int, accepted: bool
) -> None:
    """A relay with a size limit refuses at MAIL, before the message is sent, when the
    declared size is over it - and only then."""
    handler = MisbehavingMailbox()
    sender = email_sender(free_port())
    built = sender.build(
        recipient="jane@example.com", message=MESSAGE, notification_id="n-1", complaint_id="c-1"
    )
    wire_size = len(built) + built.count(b"\n")  # every line ends in CRLF on the wire
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), data_size_limit=wire_size + spare
    )
    controller.start()
    try:
        sender = email_sender(controller.port)
        if accepted:
            await send(sender)
        else:
            failure = await failure_of(sender)
            assert failure.kind is FailureKind.PERMANENT
            assert "at MAIL" in failure.reason  # before a byte of the message was sent
    finally:
        controller.stop()

    assert len(handler.received) == (1 if accepted else 0)
