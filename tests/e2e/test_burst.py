"""A burst on the raw topic while services are killed mid-batch: nothing lost, nothing doubled.

Upstream systems publish a burst of complaints; while the services work through it in
batches, each of them is killed with SIGKILL (no chance to finish or commit) and restarted
as Kubernetes would. Every complaint must still be received, assigned, timed and
acknowledged exactly once on the log, and each customer must get one message.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict

from kintsugi.common.codec import Event, event_type
from kintsugi.common.kafka import make_producer
from kintsugi.common.topics import COMPLAINT_EVENTS, RAW_COMPLAINTS
from services.intake.service import complaint_id_for
from tests.e2e.conftest import Stack
from tests.e2e.test_pipeline import complaint
from tools.devstack.events import TopicTail

BURST = 1_500
BURST_TIMEOUT_S = 240
JURISDICTIONS = ("GB-ENG", "US", "AU-NSW", "GB-SCT")
# (service, share of the burst acknowledged when it is killed)
KILLS = (("intake", 0.0), ("notifier", 0.2), ("router", 0.4), ("sla", 0.6))
# Stages each complaint must pass exactly once, counted by distinct event id.
ONCE = ("received", "classified", "assigned", "clocks_started", "notification_sent")


async def _publish_burst(stack: Stack, unique: str) -> dict[str, str]:
    """Complaint id -> customer email, for a burst published as fast as a producer can."""
    producer = make_producer(stack.kafka, "e2e-burst")
    await producer.start()
    emails: dict[str, str] = {}
    try:
        pending = []
        for n in range(BURST):
            email = f"burst-{n}-{unique}@example.com"
            request = complaint(f"{unique}-{n}", email, JURISDICTIONS[n % len(JURISDICTIONS)])
            emails[complaint_id_for("e2e", request.source_reference)] = email
            pending.append(
                await producer.send(
                    stack.kafka.topic(RAW_COMPLAINTS),
                    request.SerializeToString(),
                    key=request.source_reference.encode(),
                )
            )
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return emails


async def _kill_and_restart(stack: Stack, name: str) -> None:
    process = stack.processes[name]
    process.process.kill()
    await asyncio.to_thread(process.process.wait, 10)
    await asyncio.to_thread(stack.restart, name)


async def test_a_burst_survives_a_kill_of_every_service_mid_batch(
    stack: Stack, unique: str, began: float
) -> None:
    emails = await _publish_burst(stack, unique)
    seen: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    acknowledged: set[str] = set()
    pending_kills = list(KILLS)
    killed: list[str] = []

    def record(event: Event) -> None:
        kind = event_type(event)
        if kind in ONCE:
            seen[event.complaint_id][kind].add(event.event_id)
        if kind == "notification_sent":
            acknowledged.add(event.complaint_id)

    async def supervise() -> None:  # liveness probes, as Kubernetes runs them
        while True:
            await asyncio.sleep(2)
            await asyncio.to_thread(stack.heal)

    supervisor = asyncio.create_task(supervise())
    try:
        topic = stack.kafka.topic(COMPLAINT_EVENTS)
        async with TopicTail(stack.kafka, topic, since=began) as tail:
            async for event in tail.events(BURST_TIMEOUT_S):
                if event.complaint_id in emails:
                    record(event)
                while pending_kills and len(acknowledged) >= pending_kills[0][1] * BURST:
                    name, _ = pending_kills.pop(0)
                    await _kill_and_restart(stack, name)
                    killed.append(name)
                if len(acknowledged) == BURST:
                    break
    finally:
        supervisor.cancel()

    assert killed == [name for name, _ in KILLS]
    missing = set(emails) - acknowledged
    assert not missing, f"{len(missing)} of {BURST} never acknowledged"
    for complaint_id in emails:
        stages = seen[complaint_id]
        counts = {kind: len(stages[kind]) for kind in ONCE}
        assert counts == dict.fromkeys(ONCE, 1), (complaint_id, counts)

    # Each customer got one message. A kill between the mail server's "250 OK" and the
    # notifier recording it re-sends that one message with the same Message-ID
    # (decision 7), so copies are counted by Message-ID: never two different messages.
    copies_by_email: dict[str, Counter[str]] = defaultdict(Counter)
    for message in list(stack.mailbox.messages):
        copies_by_email[str(message["To"])][str(message["Message-ID"])] += 1
    assert all(len(copies_by_email[email]) == 1 for email in emails.values())
    resent = sum(sum(copies_by_email[email].values()) - 1 for email in emails.values())
    print(f"burst of {BURST}: kills {killed}; messages re-sent with the same Message-ID: {resent}")
