"""End to end, the router's part of a complaint's life after its first owner: a clock that
warns and then breaches escalates once per level of the chain (and each person named is
emailed once), a queued complaint is assigned when another one resolves, and three
electronic exchanges ask the owner, by email, for one phone call.

Everything goes in through intake's gRPC API and is read back from the complaint-events
topic of a stack of its own. Its sla runs tests/data/policies-escalation: a one-minute
resolution target for service complaints on a calendar open around the clock, so a warning
(at 75%) and the breach come within seconds of a complaint received 40 seconds ago. Its
router's directory (tests/data/directory-escalation.yaml) gives Fraud Response room for
one complaint.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kintsugi.common.codec import Event, event_type
from kintsugi.common.topics import COMPLAINT_EVENTS
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2
from tests.e2e.conftest import Stack, running_stack, stack_config
from tests.e2e.test_pipeline import complaint
from tests.integration.test_notifier_kafka import until
from tools.devstack.events import TopicTail
from tools.devstack.mailbox import Mailbox
from tools.devstack.topics import own_topics

DATA = Path(__file__).resolve().parent.parent / "data"
POLICIES = DATA / "policies-escalation"
ONE_MINUTE_CLOCK = "int-resolution-one-minute"
QUEUE_DEPTH = "kintsugi_router_queue_depth"
UTILISATION = "kintsugi_router_team_utilisation_ratio"
TIMEOUT_S = 90
# Long enough for a repeated or a stray second decision to show up, short for a suite.
QUIET_S = 5.0


@pytest.fixture(scope="module")
async def escalation_stack(
    kafka_bootstrap: str,
    mailbox: tuple[int, Mailbox],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    """One stack for this module's tests (each owns a team of the directory), on topics of
    its own: the session's stack never sees these events. Like ``own_stack``, shared."""
    smtp_port, box = mailbox
    base = tmp_path_factory.mktemp("escalation-stack")
    async with own_topics(kafka_bootstrap, "e2e-escalation") as kafka:
        config = stack_config(
            kafka,
            smtp_port,
            base,
            router_directory=DATA / "directory-escalation.yaml",
            sla_policies_dir=POLICIES,
            # Intake accepts the jurisdictions the sla has calendars for: the same file.
            service_settings={"intake": {"CALENDARS_FILE": str(POLICIES / "calendars.yaml")}},
        )
        async with running_stack(config, kafka, box, base / "logs") as stack:
            yield stack


@dataclass
class Topic:
    """What the stack said about each complaint, each event once (a decision re-announced
    after a redelivery keeps its event id, and readers drop the copy)."""

    tail: TopicTail
    seen: dict[str, dict[str, Event]] = field(default_factory=dict)

    async def until(self, done: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> None:
        if done():
            return
        async for event in self.tail.events(timeout_s):
            self.seen.setdefault(event.complaint_id, {}).setdefault(event.event_id, event)
            if done():
                return

    async def quiet(self) -> None:
        """Whatever else is said in a quiet spell (to prove nothing more is)."""
        await self.until(lambda: False, timeout_s=QUIET_S)

    def of(self, complaint_id: str, kind: str) -> list[Event]:
        return [e for e in self.seen.get(complaint_id, {}).values() if event_type(e) == kind]


@asynccontextmanager
async def watching(stack: Stack, since: float) -> AsyncIterator[Topic]:
    topic = stack.kafka.topic(COMPLAINT_EVENTS)
    async with TopicTail(stack.kafka, topic, since=since) as tail:
        yield Topic(tail)


async def _submit(
    stack: Stack, reference: str, subject: str, text: str, received_ago_s: float = 60
) -> str:
    request = complaint(reference, f"{reference}@example.com", "GB-ENG", text)
    request.subject = subject
    received = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=received_ago_s)
    request.received_at.FromDatetime(received)
    return str((await stack.intake.SubmitComplaint(request, timeout=10)).complaint_id)


def _activity(reference: str, activity: str) -> intake_pb2.RecordActivityRequest:
    request = intake_pb2.RecordActivityRequest(
        source_system="e2e",
        source_reference=reference,
        activity_reference=activity,
        actor_id=f"cust-{reference}",
        actor_name="Grace Hopper",
    )
    request.occurred_at.FromDatetime(datetime.now(UTC))
    return request


def _customer_email(reference: str, activity: str) -> intake_pb2.RecordActivityRequest:
    request = _activity(reference, activity)
    request.customer_message.CopyFrom(
        intake_pb2.CustomerMessage(channel=pb.CHANNEL_EMAIL, summary="any news?")
    )
    return request


def _staff_email(reference: str, activity: str) -> intake_pb2.RecordActivityRequest:
    request = _activity(reference, activity)
    request.actor_id, request.actor_name = "tom.hughes", "Tom Hughes"
    request.staff_response.CopyFrom(
        intake_pb2.StaffResponse(channel=pb.CHANNEL_EMAIL, summary="looking into it")
    )
    return request


def _resolved(reference: str, activity: str) -> intake_pb2.RecordActivityRequest:
    request = _activity(reference, activity)
    request.actor_id, request.actor_name = "oliver.smith", "Oliver Smith"
    request.status_change.CopyFrom(
        intake_pb2.StatusChange(new_status=pb.STATUS_RESOLVED, outcome=pb.RESOLUTION_OUTCOME_UPHELD)
    )
    return request


def _router_metrics(stack: Stack) -> str:
    url = f"http://127.0.0.1:{stack.config.ops_ports['router']}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


async def _router_gauge(stack: Stack, name: str, **labels: str) -> float | None:
    text = await asyncio.to_thread(_router_metrics, stack)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def _staff_told(stack: Stack, subject: str, complaint_id: str) -> Callable[[], list[str]]:
    """Who has been emailed ``subject`` about the complaint so far (staff messages quote the
    notifier's short reference: the id's first ten hex digits)."""
    reference = complaint_id.replace("-", "")[:10].upper()
    full = f"{subject}: complaint {reference}"
    return lambda: sorted(str(m["To"]) for m in stack.mailbox.messages if m["Subject"] == full)


def _details(event: Event, kind: str) -> list[str]:
    return [r.detail for r in getattr(event, kind).reasons]


async def test_a_clock_that_warns_then_breaches_escalates_once_per_level_to_one_named_person(
    escalation_stack: Stack, unique: str, began: float
) -> None:
    text = "I have been waiting for weeks and nobody has replied to my letters."
    complaint_id = await _submit(
        escalation_stack, f"{unique}-slow", "No reply", text, received_ago_s=40
    )

    async with watching(escalation_stack, began) as topic:
        await topic.until(lambda: len(topic.of(complaint_id, "escalated")) >= 2)
        await topic.quiet()

    [assigned] = topic.of(complaint_id, "assigned")
    [warning] = topic.of(complaint_id, "clock_warning")
    [breach] = topic.of(complaint_id, "clock_breached")
    assert warning.clock_warning.clock.clock_id == ONE_MINUTE_CLOCK
    assert breach.clock_breached.clock.clock_id == ONE_MINUTE_CLOCK
    escalations = topic.of(complaint_id, "escalated")
    # One per level, each caused by its own clock event: warning to the team lead, the
    # breach one level up, to the complaints manager. Never a broadcast.
    assert [(e.escalated.level, e.causation_id) for e in escalations] == [
        (1, warning.event_id),
        (2, breach.event_id),
    ]
    to_lead, to_manager = (e.escalated for e in escalations)
    assert (to_lead.to_handler_id, to_lead.to_name) == ("amara.okafor", "Amara Okafor")
    assert (to_manager.to_handler_id, to_manager.to_name) == ("grace.mensah", "Grace Mensah")
    for escalated in (to_lead, to_manager):
        assert escalated.clock_id == ONE_MINUTE_CLOCK
        assert escalated.from_handler_id == assigned.assigned.handler_id == "tom.hughes"
        assert escalated.team_id == "customer-care"
    assert "internal resolution clock at 75%: 15 s left" in _details(escalations[0], "escalated")
    assert "internal resolution clock breached: no time left" in _details(
        escalations[1], "escalated"
    )
    # Each named person is told by email, once; nobody else hears of it.
    told = _staff_told(escalation_stack, "Escalated to you", complaint_id)
    await until(lambda: len(told()) >= 2)
    assert told() == ["amara.okafor@kintsugi.example", "grace.mensah@kintsugi.example"]
    counted = "kintsugi_router_escalations_total"
    for level in ("1", "2"):
        assert await _router_gauge(escalation_stack, counted, team="customer-care", level=level)
    assert await _router_gauge(escalation_stack, counted, team="customer-care", level="3") is None


async def test_a_queued_complaint_is_assigned_when_another_resolves(
    escalation_stack: Stack, unique: str, began: float
) -> None:
    text = "Someone used my card for payments I never made. This is fraud."
    first = await _submit(escalation_stack, f"{unique}-first", "Fraud", text)
    async with watching(escalation_stack, began) as topic:
        await topic.until(lambda: bool(topic.of(first, "assigned")))
        # Submitted once the first has its owner: Fraud Response has room for one.
        second = await _submit(escalation_stack, f"{unique}-second", "Fraud", text)
        await topic.until(lambda: bool(topic.of(second, "queued")))
        depth = await _router_gauge(escalation_stack, QUEUE_DEPTH, team="fraud-response")
        resolution = _resolved(f"{unique}-first", f"{unique}-first-resolved")
        resolved = await escalation_stack.intake.RecordActivity(resolution, timeout=10)
        await topic.until(lambda: bool(topic.of(second, "assigned")))
        await topic.quiet()

    [owner] = topic.of(first, "assigned")
    [queued] = topic.of(second, "queued")
    [drained] = topic.of(second, "assigned")
    assert owner.assigned.handler_id == "oliver.smith"
    assert (queued.queued.team_id, queued.queued.position) == ("fraud-response", 1)
    assert drained.assigned.handler_id == "oliver.smith"
    assert drained.causation_id == resolved.activity_id  # the resolution freed the place
    assert "capacity freed in Fraud Response" in _details(drained, "assigned")
    # What the dashboards show: one waiting while the team was full, then none; still full.
    assert depth == 1
    assert await _router_gauge(escalation_stack, QUEUE_DEPTH, team="fraud-response") == 0
    assert await _router_gauge(escalation_stack, UTILISATION, team="fraud-response") == 1.0


async def test_three_electronic_exchanges_ask_the_owner_for_one_phone_call(
    escalation_stack: Stack, unique: str, began: float
) -> None:
    reference = f"{unique}-chatty"
    complaint_id = await _submit(
        escalation_stack, reference, "Double charge", "I was charged twice."
    )
    async with watching(escalation_stack, began) as topic:
        await topic.until(lambda: bool(topic.of(complaint_id, "assigned")))
        exchanges = [
            _customer_email(reference, f"{reference}-1"),
            _staff_email(reference, f"{reference}-2"),
            _customer_email(reference, f"{reference}-3"),
            _customer_email(reference, f"{reference}-4"),  # a fourth asks for no second call
        ]
        recorded = [await escalation_stack.intake.RecordActivity(e, timeout=10) for e in exchanges]
        await topic.until(lambda: bool(topic.of(complaint_id, "call_requested")))
        await topic.quiet()

    [owner] = topic.of(complaint_id, "assigned")
    [call] = topic.of(complaint_id, "call_requested")
    assert (call.call_requested.handler_id, call.call_requested.handler_name) == (
        owner.assigned.handler_id,
        owner.assigned.handler_name,
    )
    assert call.causation_id == recorded[2].activity_id  # the third exchange
    assert any("3 electronic exchanges" in d for d in _details(call, "call_requested"))
    told = _staff_told(escalation_stack, "Please call the customer", complaint_id)
    await until(lambda: bool(told()))
    assert told() == ["tom.hughes@kintsugi.example"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
async def test_the_routers_metrics_pass_promtool_and_cover_every_team(
    escalation_stack: Stack,
) -> None:
    text = await asyncio.to_thread(_router_metrics, escalation_stack)

    checked = await asyncio.to_thread(
        subprocess.run,
        ["promtool", "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    for team in ("customer-care", "fraud-response", "conduct-review"):
        assert await _router_gauge(escalation_stack, UTILISATION, team=team) is not None
        assert await _router_gauge(escalation_stack, QUEUE_DEPTH, team=team) is not None
