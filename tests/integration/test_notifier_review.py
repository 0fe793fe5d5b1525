"""Executive review as deployed: real Kafka in, real SMTP out, a restart in the middle.

Two complaints the router sampled for review are resolved. One has weeks left before its
regulatory deadline: its final response waits for the executive office's note. The other
is close to its deadline: its response goes out unapproved at the configured margin -
after the notifier restarted, from the hold it kept in its durable state - while the first
is still waiting. The notifier runs on the test's clock, which jumps to the margin only
after the restart, so a slow first half cannot release the response early. Counted at the
SMTP server: one final response each. While they wait, the notifier's /metrics (which
promtool accepts) counts both holds, and the timeline says each response was requested
for executive review.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from google.protobuf.message import Message
from prometheus_client.parser import text_string_to_metric_families

from kintsugi.common.codec import Event, event_type
from kintsugi.common.kafka import EventPublisher, make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.ops_server import Health, OpsServer
from kintsugi.common.timeutil import to_timestamp
from kintsugi.common.topics import COMPLAINT_EVENTS
from kintsugi.events.v1 import clock_pb2 as cpb
from kintsugi.events.v1 import complaint_pb2 as pb
from services.notifier.config import NotifierSettings
from tests.events import an_event
from tests.integration.test_notifier_kafka import (
    mailbox,
    messages_for,
    running_notifier,
    until,
)
from tools.devstack.events import TopicTail
from tools.devstack.mailbox import Mailbox

__all__ = ["mailbox"]  # the fixture, shared with the notifier's Kafka tests

FINAL_RESPONSE = "Our response to your complaint"
# The response close to its deadline goes out this long before it.
MARGIN = timedelta(seconds=20)
# ...which is this far ahead of the clock at publication; the test's clock jumps it.
RELEASE_IN = timedelta(minutes=10)


class JumpingClock:
    """The wall clock, plus however far the test has moved it on."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


def event(complaint_id: str, name: str, payload: Message, at: datetime) -> Event:
    return an_event(complaint_id, f"{complaint_id}-{name}", payload, at, f"{complaint_id}-received")


def sampled_complaint(complaint_id: str, final_response_due: datetime) -> list[Event]:
    now = datetime.now(UTC)
    received = pb.ComplaintReceived(
        customer=pb.Customer(
            display_name="Jane Doe", email=f"{complaint_id}@example.com", preferred_language="en-GB"
        ),
        channel=pb.CHANNEL_EMAIL,
        subject="Card declined",
    )
    received.received_at.CopyFrom(to_timestamp(now))
    final = cpb.ClockStarted(
        clock=cpb.ClockRef(clock_id="fca-final-8wk", clock_kind="final_response", regulatory=True)
    )
    final.due_at.CopyFrom(to_timestamp(final_response_due))
    assigned = pb.ComplaintAssigned(
        handler_id="mei.chen", handler_name="Mei Chen", team_name="Cards", executive_review=True
    )
    resolved = pb.ActivityRecorded(
        kind=pb.ACTIVITY_KIND_STATUS_CHANGE, new_status=pb.STATUS_RESOLVED, actor_id="mei.chen"
    )
    return [
        event(complaint_id, "received", received, now),
        event(complaint_id, "classified", pb.ComplaintClassified(regime="uk-fca-disp"), now),
        event(complaint_id, "clocks", cpb.ClocksStarted(clocks=[final]), now),
        event(complaint_id, "assigned", assigned, now),
        event(complaint_id, "resolved", resolved, now),
    ]


def approval(complaint_id: str) -> Event:
    note = pb.ActivityRecorded(
        kind=pb.ACTIVITY_KIND_NOTE, actor_id="exec.office", body="Approved; signed."
    )
    return event(complaint_id, "approved", note, datetime.now(UTC))


def final_responses(box: Mailbox, complaint_id: str) -> int:
    return sum(1 for s in messages_for(box, complaint_id) if s.startswith(FINAL_RESPONSE))


async def scrape(port: int) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        return await response.text()


def gauge(text: str, name: str) -> float:
    [family] = (f for f in text_string_to_metric_families(text) if f.name == name)
    [sample] = family.samples
    return sample.value


async def held_on_metrics(port: int, count: int) -> str:
    """/metrics once the retry timer has published ``count`` holds (it ticks every 0.5 s;
    a loaded machine may take much longer to get there)."""
    deadline = time.monotonic() + 120
    while gauge(text := await scrape(port), "kintsugi_notifications_held_for_review") != count:
        if time.monotonic() > deadline:
            raise AssertionError(f"held-for-review gauge never reached {count}")
        await asyncio.sleep(0.2)
    return text


def promtool_accepts(text: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (make lint installs it)")
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def requested_for_review(
    kafka: KafkaSettings, complaints: set[str], since: float
) -> set[str]:
    """Which of ``complaints`` the timeline shows a response requested for review."""
    async with TopicTail(kafka, kafka.topic(COMPLAINT_EVENTS), since=since) as tail:
        seen = await tail.collect(
            lambda events: {e.complaint_id for e in events if held(e)} >= complaints, 30
        )
    return {e.complaint_id for e in seen if held(e)} & complaints


def held(event: Event) -> bool:
    return (
        event_type(event) == "notification_requested"
        and event.notification_requested.requires_executive_review
    )


async def test_a_sampled_response_waits_for_approval_or_goes_at_the_margin_never_twice(
    isolated_kafka: KafkaSettings, unique: str, mailbox: tuple[object, Mailbox]
) -> None:
    # Topics of its own: the gauges count every hold the notifier keeps, and the session's
    # topics carry the e2e stack's complaints, some of them held for review too.
    controller, box = mailbox
    settings = NotifierSettings(
        kafka=isolated_kafka,
        consumer_group=f"notifier-{unique}",
        smtp_port=controller.port,  # type: ignore[attr-defined]
        ops_port=0,
        retry_tick_s=0.5,
        shutdown_grace_s=5,
        executive_review_margin_h=MARGIN.total_seconds() / 3600,
    )
    producer = make_producer(isolated_kafka, "test-publisher")
    await producer.start()
    publisher = EventPublisher(producer, isolated_kafka.topic(COMPLAINT_EVENTS))
    weeks_left, deadline_near = str(uuid.uuid4()), str(uuid.uuid4())
    began = time.time()
    metrics_endpoint = OpsServer(Health(), "127.0.0.1", 0)  # this process's /metrics
    await metrics_endpoint.start()
    port = metrics_endpoint.bound_port or 0
    clock = JumpingClock()
    try:
        async with running_notifier(settings, clock) as health:
            await until(lambda: all(health.report().values()) and bool(health.report()))
            await publisher.publish(
                *sampled_complaint(weeks_left, datetime.now(UTC) + timedelta(weeks=8)),
                # Released at the margin: RELEASE_IN from now, on the test's clock.
                *sampled_complaint(deadline_near, datetime.now(UTC) + MARGIN + RELEASE_IN),
            )
            # Both acknowledged; neither response has gone yet.
            await until(
                lambda: all(len(messages_for(box, c)) == 1 for c in (weeks_left, deadline_near))
            )
            promtool_accepts(await held_on_metrics(port, 2))
            both = {weeks_left, deadline_near}
            assert await requested_for_review(isolated_kafka, both, began) == both
        assert final_responses(box, deadline_near) == 0
        async with running_notifier(settings, clock) as health:  # restarted, holding both
            clock.ahead = RELEASE_IN
            await until(lambda: final_responses(box, deadline_near) == 1)
            assert final_responses(box, weeks_left) == 0  # still waiting for the office
            text = await held_on_metrics(port, 1)
            assert gauge(text, "kintsugi_notification_oldest_held_for_review_seconds") > 0

            await publisher.publish(approval(weeks_left))
            await until(lambda: final_responses(box, weeks_left) == 1)
            await held_on_metrics(port, 0)
            await publisher.publish(approval(weeks_left), approval(deadline_near))  # again
            await asyncio.sleep(5)  # room for a duplicate to arrive, if one were coming
    finally:
        await producer.stop()
        await metrics_endpoint.stop()

    for complaint_id in (weeks_left, deadline_near):
        subjects = messages_for(box, complaint_id)
        assert final_responses(box, complaint_id) == 1, subjects
        assert len(subjects) == 2, subjects  # the acknowledgement and the response
