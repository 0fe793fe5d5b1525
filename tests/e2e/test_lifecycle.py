"""A case's life after the acknowledgement, as upstream systems report it, and what leaks.

Upstream systems record activities (waiting on the customer, the customer responded,
resolved) through intake; the sla pauses, resumes and stops the clocks they concern. After
the journeys, no service's log holds a customer's contact details or words.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from kintsugi.common.codec import Event, event_type
from kintsugi.common.topics import COMPLAINT_EVENTS
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2
from tests.e2e.conftest import Stack
from tests.e2e.test_pipeline import JOURNEY_TIMEOUT_S, complaint, journeys
from tools.devstack.events import TopicTail


def _status(
    reference: str, activity: str, status: pb.Status.ValueType, outcome: int = 0
) -> intake_pb2.RecordActivityRequest:
    request = intake_pb2.RecordActivityRequest(
        source_system="e2e",
        source_reference=reference,
        activity_reference=activity,
        actor_id="handler-7",
        actor_name="Handler Seven",
        status_change=intake_pb2.StatusChange(new_status=status, outcome=outcome),
    )
    request.occurred_at.FromDatetime(datetime.now(UTC))
    return request


async def _until(
    tail: TopicTail, complaint_id: str, done: Callable[[list[Event]], bool]
) -> list[Event]:
    mine: list[Event] = []
    async for event in tail.events(JOURNEY_TIMEOUT_S):
        if event.complaint_id == complaint_id:
            mine.append(event)
            if done(mine):
                break
    return mine


def _clock_ids(events: list[Event], kind: str) -> set[str]:
    return {getattr(e, kind).clock.clock_id for e in events if event_type(e) == kind}


async def test_activities_pause_resume_and_stop_the_clocks(
    stack: Stack, unique: str, began: float
) -> None:
    request = complaint(unique, f"life-{unique}@example.com", "GB-ENG")
    response = await stack.intake.SubmitComplaint(request, timeout=10)
    timeline = (await journeys(stack, {response.complaint_id}, since=began))[response.complaint_id]
    started = next(e.clocks_started for e in timeline if event_type(e) == "clocks_started")
    pausable = {c.clock.clock_id for c in started.clocks if c.pausable}
    regulatory = {c.clock.clock_id for c in started.clocks if c.clock.regulatory}
    assert pausable and regulatory

    topic = stack.kafka.topic(COMPLAINT_EVENTS)
    async with TopicTail(stack.kafka, topic, from_start=False) as tail:
        waiting = _status(unique, f"{unique}-wait", pb.STATUS_WAITING_ON_CUSTOMER)
        await stack.intake.RecordActivity(waiting, timeout=10)
        paused = await _until(
            tail, response.complaint_id, lambda seen: _clock_ids(seen, "clock_paused") >= pausable
        )
    assert _clock_ids(paused, "clock_paused") == pausable  # regulatory clocks never pause
    assert not _clock_ids(paused, "clock_paused") & regulatory

    async with TopicTail(stack.kafka, topic, from_start=False) as tail:
        answered = _status(unique, f"{unique}-back", pb.STATUS_CUSTOMER_RESPONDED)
        await stack.intake.RecordActivity(answered, timeout=10)
        resumed = await _until(
            tail, response.complaint_id, lambda seen: _clock_ids(seen, "clock_resumed") >= pausable
        )
    assert _clock_ids(resumed, "clock_resumed") == pausable

    async with TopicTail(stack.kafka, topic, since=began) as history:
        so_far = [e for e in await history.collect(lambda _: False, timeout_s=3)]
    stopped = _clock_ids(
        [e for e in so_far if e.complaint_id == response.complaint_id], "clock_stopped"
    )
    open_clocks = {c.clock.clock_id for c in started.clocks} - stopped
    async with TopicTail(stack.kafka, topic, from_start=False) as tail:
        resolved = _status(
            unique, f"{unique}-done", pb.STATUS_RESOLVED, pb.RESOLUTION_OUTCOME_UPHELD
        )
        await stack.intake.RecordActivity(resolved, timeout=10)
        closing = await _until(
            tail,
            response.complaint_id,
            lambda seen: _clock_ids(seen, "clock_stopped") >= open_clocks,
        )
    assert [event_type(e) for e in closing].count("activity") == 1
    assert _clock_ids(closing, "clock_stopped") == open_clocks


async def test_no_service_log_holds_a_customers_contact_details_or_words(
    stack: Stack, unique: str, began: float
) -> None:
    email = f"private-{unique}@example.com"
    phone = "+447700900461"
    words = f"my late husband {unique} handled our account"
    request = complaint(unique, email, "GB-ENG")
    request.customer.phone = phone
    request.customer.display_name = f"Margaret {unique}"
    request.description = f"I was charged twice; {words}."
    response = await stack.intake.SubmitComplaint(request, timeout=10)
    await journeys(stack, {response.complaint_id}, since=began)

    logs = {path.name: path.read_text(errors="replace") for path in stack.log_dir.glob("*.log")}
    assert set(logs) >= {"intake.log", "router.log", "sla.log", "notifier.log"}
    assert any(response.complaint_id in text for text in logs.values())  # the logs do speak
    for name, text in logs.items():
        for secret in (email, phone, words, f"Margaret {unique}"):
            assert secret not in text, f"{name} holds {secret!r}"
