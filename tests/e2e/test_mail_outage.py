"""The mail server is down while complaints arrive, the notifier is stopped mid-outage, then
the server returns: every customer gets their acknowledgement, exactly once.

Four real services on their own topics; nothing listens on the notifier's SMTP port at
first. Each acknowledgement fails, is announced as `notification_failed` (retryable) and
waits in the notifier's durable state; the notifier is then stopped - killed (SIGKILL: no
goodbye) or terminated as Kubernetes does (SIGTERM: it finishes what it holds and exits
0) - and restarted, more complaints arrive, and the mail server starts on that port. Retry
backoff is shortened to seconds so the outage is short.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import pytest
from aiosmtpd.controller import Controller

from kintsugi.common.codec import event_type
from kintsugi.common.topics import COMPLAINT_EVENTS
from tests.e2e.conftest import OwnStack, Stack
from tests.e2e.test_pipeline import complaint
from tests.integration.test_notifier_kafka import until
from tools.devstack.events import TopicTail
from tools.devstack.mailbox import Mailbox
from tools.devstack.processes import free_port

FAST_RETRIES = {
    "RETRY_TICK_S": "0.5",
    "RETRY_FIRST_BACKOFF_S": "1",
    "RETRY_MAX_BACKOFF_S": "3",
    "BREAKER_FAILURES": "3",
    "BREAKER_COOLDOWN_S": "2",
}
TIMEOUT_S = 120


async def submit(stack: Stack, unique: str, count: int, batch: str) -> dict[str, str]:
    """Complaint id -> the customer's address."""
    submitted = {}
    for n in range(count):
        address = f"outage-{unique}-{batch}{n}@example.com"
        request = complaint(f"{unique}-{batch}{n}", address)
        response = await stack.intake.SubmitComplaint(request, timeout=10)
        submitted[response.complaint_id] = address
    return submitted


async def wait_for_failed_acknowledgements(stack: Stack, complaint_ids: set[str]) -> None:
    """Until each complaint's timeline says its acknowledgement failed and will be retried."""
    waiting = set(complaint_ids)
    async with TopicTail(stack.kafka, stack.kafka.topic(COMPLAINT_EVENTS)) as tail:
        async for event in tail.events(TIMEOUT_S):
            if (
                event.complaint_id in waiting
                and event_type(event) == "notification_failed"
                and event.notification_failed.retryable
            ):
                waiting.discard(event.complaint_id)
                if not waiting:
                    return
    raise AssertionError(f"no retryable failure announced for {sorted(waiting)}")


def acknowledgements(box: Mailbox, addresses: dict[str, str]) -> Counter[str]:
    return Counter(
        address
        for address in addresses.values()
        for message in box.to(address)
        if str(message["Subject"]).startswith("We're on it")
    )


@pytest.mark.parametrize(
    "stop_signal", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "terminated"]
)
async def test_an_outage_and_a_stopped_notifier_lose_and_double_nothing(
    own_stack: OwnStack, unique: str, stop_signal: signal.Signals
) -> None:
    port = free_port()  # nothing listens here yet
    box = Mailbox()
    server: Controller | None = None
    try:
        async with own_stack(port, box, service_settings={"notifier": FAST_RETRIES}) as stack:
            before = await submit(stack, unique, 4, "before")
            await wait_for_failed_acknowledgements(stack, set(before))

            notifier = stack.processes["notifier"]
            notifier.process.send_signal(stop_signal)
            exit_code = await asyncio.to_thread(notifier.process.wait, TIMEOUT_S)
            if stop_signal is signal.SIGTERM:
                # Graceful even with the mail server away: its pending retries wait in
                # durable state rather than holding the shutdown.
                assert exit_code == 0, notifier.log_tail()
            await asyncio.to_thread(stack.restart, "notifier")
            during = await submit(stack, unique, 3, "during")

            server = Controller(box, hostname="127.0.0.1", port=port)
            server.start()  # the mail server returns
            everyone = {**before, **during}
            await until(
                lambda: set(acknowledgements(box, everyone)) == set(everyone.values()),
                timeout_s=TIMEOUT_S,
            )
            await asyncio.sleep(5)  # room for a duplicate to arrive, if one were coming
    finally:
        if server is not None:
            server.stop()

    assert acknowledgements(box, everyone) == Counter({a: 1 for a in everyone.values()})
