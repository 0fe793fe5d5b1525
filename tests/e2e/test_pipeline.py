"""End to end: four real service processes, a real broker, a real SMTP server.

A complaint submitted over gRPC must be received, classified, assigned, timed and
acknowledged by email, in that order, exactly once - across restarts too.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from kintsugi.common.codec import DeadLetter, Event, event_type
from kintsugi.common.kafka import make_producer
from kintsugi.common.topics import COMPLAINT_EVENTS, DEAD_LETTERS, RAW_COMPLAINTS
from kintsugi.events.v1 import clock_pb2
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2
from services.intake.service import complaint_id_for
from tests.e2e.conftest import Stack
from tools.devstack.events import TopicTail

JOURNEY_TIMEOUT_S = 60


def complaint(
    reference: str, email: str, jurisdiction: str = "GB-ENG", text: str = "I was charged twice."
) -> intake_pb2.SubmitComplaintRequest:
    received = Timestamp()
    received.FromDatetime(datetime.now(UTC) - timedelta(minutes=1))
    return intake_pb2.SubmitComplaintRequest(
        source_system="e2e",
        source_reference=reference,
        customer=pb.Customer(
            customer_id=f"cust-{reference}", display_name="Grace Hopper", email=email
        ),
        channel=pb.CHANNEL_EMAIL,
        subject="Double charge",
        description=text,
        product="credit_card",
        jurisdiction=jurisdiction,
        received_at=received,
    )


def acknowledged(events: list[Event]) -> bool:
    return any(event_type(e) == "notification_sent" for e in events) and any(
        event_type(e) == "clock_stopped" for e in events
    )


async def journeys(stack: Stack, complaint_ids: set[str], since: float) -> dict[str, list[Event]]:
    """Each complaint's events, once every one has been acknowledged and its clock met.

    Meanwhile the stack is supervised as Kubernetes would: a service whose liveness probe
    fails is replaced.
    """
    by_complaint: dict[str, list[Event]] = defaultdict(list)

    def done() -> bool:
        return all(acknowledged(by_complaint[c]) for c in complaint_ids)

    async def supervise() -> None:
        while True:
            await asyncio.sleep(2)
            await asyncio.to_thread(stack.heal)

    supervisor = asyncio.create_task(supervise())
    try:
        topic = stack.kafka.topic(COMPLAINT_EVENTS)
        async with TopicTail(stack.kafka, topic, since=since) as t:
            async for event in t.events(JOURNEY_TIMEOUT_S):
                if event.complaint_id in complaint_ids:
                    by_complaint[event.complaint_id].append(event)
                    if done():
                        break
    finally:
        supervisor.cancel()
    return by_complaint


async def test_complaints_flow_from_grpc_to_an_acknowledgement_email(
    stack: Stack, unique: str, began: float
) -> None:
    requests = [
        complaint(f"{unique}-uk", f"uk-{unique}@example.com", "GB-ENG"),
        complaint(f"{unique}-us", f"us-{unique}@example.com", "US"),
        complaint(
            f"{unique}-au",
            f"au-{unique}@example.com",
            "AU-NSW",
            "My superannuation rollover is delayed.",
        ),
    ]
    responses = [await stack.intake.SubmitComplaint(r, timeout=10) for r in requests]
    ids = {r.complaint_id for r in responses}

    timeline = await journeys(stack, ids, since=began)

    for request, response in zip(requests, responses, strict=True):
        events = timeline[response.complaint_id]
        kinds = [event_type(e) for e in events]
        assert acknowledged(events), f"{request.jurisdiction}: {kinds}"
        order = [
            kinds.index(k) for k in ("received", "classified", "assigned", "notification_sent")
        ]
        assert order == sorted(order), kinds
        assert "clocks_started" in kinds
        stopped = [e.clock_stopped for e in events if event_type(e) == "clock_stopped"]
        assert any(
            s.outcome == clock_pb2.CLOCK_OUTCOME_MET and s.clock.clock_kind == "acknowledgement"
            for s in stopped
        ), stopped
        assigned = next(e.assigned for e in events if event_type(e) == "assigned")
        sent = next(e.notification_sent for e in events if event_type(e) == "notification_sent")

        mails = stack.mailbox.to(request.customer.email)
        assert len(mails) == 1
        mail = mails[0]
        assert mail["Message-ID"] == sent.provider_message_id
        body = mail.get_content()
        assert "Dear Grace Hopper" in body
        assert assigned.handler_name in body  # signed by the person who owns it
        assert sent.signed_by == assigned.handler_name
        assert mail["X-Kintsugi-Complaint-Id"] == response.complaint_id


async def test_a_resubmitted_complaint_is_acknowledged_only_once(
    stack: Stack, unique: str, began: float
) -> None:
    email = f"twice-{unique}@example.com"
    request = complaint(unique, email)  # resent as is: the same content, every field
    first = await stack.intake.SubmitComplaint(request, timeout=10)
    await journeys(stack, {first.complaint_id}, since=began)
    again = await stack.intake.SubmitComplaint(request, timeout=10)
    assert again == first

    # A later complaint's acknowledgement proves the repeat has been fully processed.
    later = await stack.intake.SubmitComplaint(
        complaint(f"{unique}-later", f"later-{unique}@example.com"), timeout=10
    )
    await journeys(stack, {later.complaint_id}, since=began)
    assert len(stack.mailbox.to(email)) == 1


async def test_notifier_stops_gracefully_and_catches_up_without_resending(
    stack: Stack, unique: str, began: float
) -> None:
    before = complaint(f"{unique}-before", f"before-{unique}@example.com")
    first = await stack.intake.SubmitComplaint(before, timeout=10)
    await journeys(stack, {first.complaint_id}, since=began)

    notifier = stack.processes["notifier"]
    notifier.process.send_signal(signal.SIGTERM)
    exit_code = await asyncio.to_thread(notifier.process.wait, 30)
    assert exit_code == 0
    assert '"event": "stopped"' in notifier.log_path.read_text()

    during = complaint(f"{unique}-during", f"during-{unique}@example.com")
    second = await stack.intake.SubmitComplaint(during, timeout=10)
    await asyncio.to_thread(stack.restart, "notifier")
    await journeys(stack, {second.complaint_id}, since=began)

    assert len(stack.mailbox.to(during.customer.email)) == 1
    assert len(stack.mailbox.to(before.customer.email)) == 1


async def test_an_unreadable_event_is_dead_lettered_by_every_consumer(
    stack: Stack, unique: str, began: float
) -> None:
    producer = make_producer(stack.kafka, "e2e")
    await producer.start()
    try:
        await producer.send_and_wait(
            stack.kafka.topic(COMPLAINT_EVENTS), b"\x08\x96\x01garbage", key=unique.encode()
        )
    finally:
        await producer.stop()

    groups: set[str] = set()
    deadline = time.monotonic() + JOURNEY_TIMEOUT_S
    expected = {
        f"{stack.config.topic_prefix}kintsugi-router",
        f"{stack.config.topic_prefix}kintsugi-notifier",
        f"{stack.config.topic_prefix}kintsugi-sla",
    }
    while time.monotonic() < deadline and not expected <= groups:
        async with TopicTail(stack.kafka, stack.kafka.topic(DEAD_LETTERS), since=began) as t:
            async for record in t.records(timeout_s=2):
                letter = DeadLetter()
                letter.ParseFromString(record.value)
                if letter.key == unique.encode():
                    assert "not a kintsugi.events.v1.Event" in letter.reason
                    groups.add(letter.consumer_group)
    assert expected <= groups


async def test_complaints_published_on_the_raw_topic_are_taken_in_or_dead_lettered(
    stack: Stack, unique: str, began: float
) -> None:
    valid = complaint(f"{unique}-raw", f"raw-{unique}@example.com")
    invalid = complaint(f"{unique}-raw-bad", f"raw-bad-{unique}@example.com")
    invalid.jurisdiction = "Narnia"
    producer = make_producer(stack.kafka, "e2e")
    await producer.start()
    try:
        raw_topic = stack.kafka.topic(RAW_COMPLAINTS)
        for request in (valid, invalid):
            await producer.send_and_wait(
                raw_topic, request.SerializeToString(), key=request.source_reference.encode()
            )
    finally:
        await producer.stop()

    await journeys(stack, {complaint_id_for("e2e", valid.source_reference)}, since=began)
    assert len(stack.mailbox.to(valid.customer.email)) == 1

    reasons: list[str] = []
    async with TopicTail(stack.kafka, stack.kafka.topic(DEAD_LETTERS), since=began) as t:
        async for record in t.records(timeout_s=JOURNEY_TIMEOUT_S):
            letter = DeadLetter()
            letter.ParseFromString(record.value)
            if letter.key == invalid.source_reference.encode():
                reasons.append(letter.reason)
                break
    assert reasons and "jurisdiction" in reasons[0] and "ISO 3166" in reasons[0]


async def test_an_unacknowledged_complaint_breaches_its_clock_and_the_sla_explains_why(
    stack: Stack, unique: str, began: float
) -> None:
    # This stack has no SMS gateway and the customer gave no email address, so nothing
    # can stop the acknowledgement clock; received 20 minutes ago, the 15-minute internal
    # target is already missed.
    request = complaint(unique, f"sms-{unique}@example.com")
    request.customer.email = ""
    request.channel = pb.CHANNEL_SMS
    request.customer.phone = "+447700900123"
    request.received_at.FromDatetime(datetime.now(UTC) - timedelta(minutes=20))
    response = await stack.intake.SubmitComplaint(request, timeout=10)

    events: list[Event] = []
    topic = stack.kafka.topic(COMPLAINT_EVENTS)
    async with TopicTail(stack.kafka, topic, since=began) as t:
        async for event in t.events(JOURNEY_TIMEOUT_S):
            if event.complaint_id != response.complaint_id:
                continue
            events.append(event)
            kinds = {event_type(e) for e in events}
            if {"clock_breached", "notification_failed"} <= kinds:
                break
    kinds = [event_type(e) for e in events]
    failed = next(e.notification_failed for e in events if event_type(e) == "notification_failed")
    assert "no channel left" in failed.reason
    breach = next(e.clock_breached for e in events if event_type(e) == "clock_breached")
    assert breach.clock.clock_kind == "acknowledgement", kinds
    warnings = [e.clock_warning for e in events if event_type(e) == "clock_warning"]
    assert any(w.clock.clock_id == breach.clock.clock_id for w in warnings), kinds

    explained = await asyncio.to_thread(_explain, stack, response.complaint_id)
    assert explained[breach.clock.clock_id]["state"] == "breached"
    assert explained[breach.clock.clock_id]["due_at"]
    assert any(c["regulatory"] for c in explained.values())

    # Asked about an instant a year on, every regulatory clock still open reads breached.
    next_year = (datetime.now(UTC) + timedelta(days=365)).isoformat()
    later = await asyncio.to_thread(_explain, stack, response.complaint_id, next_year)
    open_regulatory = [
        c for c in later.values() if c["regulatory"] and c["state"] not in ("met", "lapsed")
    ]
    assert open_regulatory and all(c["state"] == "breached" for c in open_regulatory)

    with pytest.raises(urllib.error.HTTPError) as refused:
        await asyncio.to_thread(_explain, stack, response.complaint_id, "2026-12-18T16:58")
    assert refused.value.code == 400
    assert "UTC offset" in json.loads(refused.value.read())["error"]


def _explain(stack: Stack, complaint_id: str, at: str = "") -> dict[str, dict[str, Any]]:
    url = f"http://127.0.0.1:{stack.config.sla_api_port}/clocks/{complaint_id}"
    if at:
        url += "?" + urllib.parse.urlencode({"at": at})
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.loads(response.read())
    return {clock["clock_id"]: clock for clock in body["clocks"]}


async def test_clocks_survive_an_sla_restart(stack: Stack, unique: str, began: float) -> None:
    request = complaint(unique, f"restart-{unique}@example.com")
    response = await stack.intake.SubmitComplaint(request, timeout=10)
    await journeys(stack, {response.complaint_id}, since=began)
    before = await asyncio.to_thread(_explain, stack, response.complaint_id)

    sla = stack.processes["sla"]
    sla.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(sla.process.wait, 60) == 0
    await asyncio.to_thread(stack.restart, "sla")

    after: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + JOURNEY_TIMEOUT_S
    while time.monotonic() < deadline and not after:
        try:  # the table is restored from its changelog before the worker answers
            after = await asyncio.to_thread(_explain, stack, response.complaint_id)
        except urllib.error.HTTPError:
            await asyncio.sleep(0.5)
    assert set(after) == set(before)
    for clock_id, clock in before.items():
        assert after[clock_id]["due_at"] == clock["due_at"]
        assert after[clock_id]["state"] == clock["state"]


async def test_killing_router_and_sla_mid_flow_loses_nothing_and_doubles_nothing(
    stack: Stack, unique: str, began: float
) -> None:
    requests = [complaint(f"{unique}-{n}", f"kill-{n}-{unique}@example.com") for n in range(8)]
    submitted = asyncio.gather(*(stack.intake.SubmitComplaint(r, timeout=10) for r in requests))
    for name in ("router", "sla"):  # no SIGTERM courtesy: a crash, mid-batch
        stack.processes[name].process.kill()
    responses = await submitted
    for name in ("router", "sla"):
        await asyncio.to_thread(stack.processes[name].process.wait, 10)
        await asyncio.to_thread(stack.restart, name)

    timeline = await journeys(stack, {r.complaint_id for r in responses}, since=began)

    for request, response in zip(requests, responses, strict=True):
        events = timeline[response.complaint_id]
        assert acknowledged(events), [event_type(e) for e in events]
        assert len(stack.mailbox.to(request.customer.email)) == 1
        assigned_ids = {e.event_id for e in events if event_type(e) == "assigned"}
        assert len(assigned_ids) == 1  # re-announced after the crash, never re-decided
