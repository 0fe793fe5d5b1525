"""After the run: from the topics and the receiving servers, was anything lost or doubled?

Each complaint is held to what its input alone implies (scenario.Story), never to timing:
received, classified as intake answered, assigned once, its clocks started as the sla's
rules compute them from the classified event, acknowledged once and that message received
once; then its story's consequences. Counts are by distinct id (event id, notification id,
Message-ID): a record replayed after a crash carries the same id and is counted as a copy,
which the delivery guarantees allow; two ids for one fact are a double, which they do not.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from kintsugi.common.codec import Event, event_type
from kintsugi.common.vocabulary import PURPOSE_NAMES
from kintsugi.events.v1 import complaint_pb2 as pb
from services.notifier.domain.planner import ACKNOWLEDGEMENT, FINAL_RESPONSE, notification_id
from services.notifier.domain.staff import STAFF_CALL_CUSTOMER, STAFF_ESCALATION
from services.sla.adapters.events import facts_from
from services.sla.domain import ClockStarted, ComplaintClocks
from services.sla.domain.policy import PolicySet
from tools.chaos.load import LoadStats
from tools.chaos.receivers import GatewayRequest
from tools.chaos.scenario import Complaint, Story
from tools.chaos.timeline import Timeline
from tools.devstack.mailbox import Mailbox

# Transitions the sla announces at most once per clock and cycle (a warning once per
# threshold too): two event ids for one of them is a clock that fired twice.
CLOCK_FIRINGS = (
    "clock_warning",
    "clock_breached",
    "customer_update_due",
    "clock_stopped",
    "clock_paused",
    "clock_resumed",
)
# The router's decisions: one per cause.
DECISIONS = ("assigned", "queued", "escalated", "call_requested")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One copy of a message as a receiving server accepted it."""

    complaint_id: str
    notification_id: str
    message_id: str  # Message-ID for email, the Idempotency-Key for a gateway


@dataclass
class Verdict:
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    # The log as each complaint with a problem saw it, for whoever investigates.
    timelines: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, complaint: Complaint | None, what: str) -> None:
        who = f"{complaint.reference} ({complaint.story})" if complaint else "run"
        self.problems.append(f"{who}: {what}")


def deliveries(mailbox: Mailbox, gateway: Iterable[GatewayRequest]) -> list[Delivery]:
    found = [
        Delivery(
            str(m.get("X-Kintsugi-Complaint-Id", "")),
            str(m.get("X-Kintsugi-Notification-Id", "")),
            str(m.get("Message-ID", "")),
        )
        for m in list(mailbox.messages)
    ]
    found += [Delivery(r.complaint_id, r.notification_id, r.idempotency_key) for r in gateway]
    return found


def _distinct(events: Iterable[Event]) -> set[str]:
    return {e.event_id for e in events}


def _describe(event: Event) -> str:
    kind = event_type(event)
    payload = getattr(event, kind)
    clock = getattr(payload, "clock", None)
    detail = f" {clock.clock_id}#{clock.cycle}" if clock is not None else ""
    return f"{event.recorded_at.ToJsonString()} {event.producer} {kind}{detail} {event.event_id}"


def _clock_key(event: Event) -> tuple[str, ...]:
    kind = event_type(event)
    payload = getattr(event, kind)
    threshold = str(payload.threshold_percent) if kind == "clock_warning" else ""
    return (kind, payload.clock.clock_id, str(payload.clock.cycle), threshold)


class Verifier:
    def __init__(self, complaints: list[Complaint], policies: PolicySet | None = None) -> None:
        self._complaints = complaints
        self._policies = policies or PolicySet.default()

    def verify(self, timeline: Timeline, load: LoadStats, delivered: list[Delivery]) -> Verdict:
        verdict = Verdict()
        by_notification: dict[str, list[Delivery]] = defaultdict(list)
        for delivery in delivered:
            by_notification[delivery.notification_id].append(delivery)
        expected_messages: set[str] = set()
        for complaint in self._complaints:
            if complaint.reference in load.refused:
                verdict.fail(complaint, f"refused by intake: {load.refused[complaint.reference]}")
                continue
            events = timeline.events(complaint.complaint_id)
            verdict.counts["events"] += len(events)
            verdict.counts["event copies (same id, redelivered)"] += len(events) - len(
                _distinct(events)
            )
            before = len(verdict.problems)
            expected_messages |= self._complaint(complaint, events, load, by_notification, verdict)
            if len(verdict.problems) > before:
                verdict.timelines[complaint.reference] = [_describe(e) for e in events]
        self._receivers(by_notification, expected_messages, verdict)
        self._dead_letters(timeline, verdict)
        return verdict

    def _complaint(
        self,
        complaint: Complaint,
        events: list[Event],
        load: LoadStats,
        by_notification: dict[str, list[Delivery]],
        verdict: Verdict,
    ) -> set[str]:
        """Checks one complaint; returns the notification ids it was sent."""
        cid = complaint.complaint_id
        kinds: dict[str, list[Event]] = defaultdict(list)
        for event in events:
            kinds[event_type(event)].append(event)

        def once(kind: str, label: str) -> Event | None:
            distinct = _distinct(kinds[kind])
            if len(distinct) != 1:
                verdict.fail(complaint, f"{label}: {len(distinct)} times, expected once")
                return None
            verdict.counts[label] += 1
            return kinds[kind][0]

        once("received", "received")
        classified = once("classified", "classified")
        if classified is not None and complaint.reference in load.answers:
            answer = load.answers[complaint.reference]
            got = (classified.classified.category, classified.classified.regime)
            if got != answer:
                verdict.fail(complaint, f"classified {got}, intake answered {answer}")
        once("assigned", "assigned")
        started = once("clocks_started", "clocks started")
        clock_kinds: dict[str, str] = {}
        if started is not None and classified is not None:
            clock_kinds = self._clocks(complaint, classified, started, verdict)

        # Nothing fired or decided twice.
        firings: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for kind in CLOCK_FIRINGS:
            for event in kinds[kind]:
                firings[_clock_key(event)].add(event.event_id)
        for key, ids in firings.items():
            verdict.counts[f"{key[0]} (distinct)"] += 1
            if len(ids) > 1:
                verdict.fail(complaint, f"{key[0]} of {key[1]} cycle {key[2]} fired {len(ids)}x")
        for kind in DECISIONS:
            by_cause: dict[str, set[str]] = defaultdict(set)
            for event in kinds[kind]:
                by_cause[event.causation_id].add(event.event_id)
            for cause, ids in by_cause.items():
                if len(ids) > 1:
                    verdict.fail(complaint, f"{kind} decided {len(ids)}x for cause {cause}")
        if kinds["queued"]:
            verdict.fail(complaint, "queued, though every team had room")

        # What the customer was sent, by purpose, and what reached them.
        sent: dict[str, set[str]] = defaultdict(set)
        for event in kinds["notification_sent"]:
            n = event.notification_sent
            sent[PURPOSE_NAMES.get(n.purpose, "?")].add(n.notification_id)
        for event in kinds["notification_failed"]:
            if not event.notification_failed.retryable:
                verdict.fail(complaint, f"notification failed: {event.notification_failed.reason}")
        ack = notification_id(cid, ACKNOWLEDGEMENT, "assigned")
        if sent[ACKNOWLEDGEMENT] != {ack}:
            verdict.fail(complaint, f"acknowledgements sent: {len(sent[ACKNOWLEDGEMENT])}")
        else:
            verdict.counts["acknowledged"] += 1
        staff = self._story(complaint, kinds, clock_kinds, sent, verdict)
        customer = set().union(*sent.values()) if sent else set()
        for nid in customer | staff:
            copies = by_notification.get(nid, [])
            message_ids = {d.message_id for d in copies}
            if not copies:
                verdict.fail(complaint, f"message {nid} never reached its server")
            elif len(message_ids) > 1:
                verdict.fail(complaint, f"message {nid} received as {len(message_ids)} messages")
            else:
                verdict.counts["messages received"] += 1
                verdict.counts["copies re-sent with the same id"] += len(copies) - 1
        return customer | staff

    def _clocks(
        self, complaint: Complaint, classified: Event, started: Event, verdict: Verdict
    ) -> dict[str, str]:
        """The clocks the sla's rules give the classified facts: ids and due times."""
        _, expected = ComplaintClocks.start(facts_from(classified), self._policies)
        want = {
            e.clock_id: int(e.due_at.timestamp()) for e in expected if isinstance(e, ClockStarted)
        }
        got = {c.clock.clock_id: c.due_at.seconds for c in started.clocks_started.clocks}
        if got != want:
            verdict.fail(complaint, f"clocks started {sorted(got)}, rules give {sorted(want)}")
        return {c.clock.clock_id: c.clock.clock_kind for c in started.clocks_started.clocks}

    def _story(
        self,
        complaint: Complaint,
        kinds: dict[str, list[Event]],
        clock_kinds: dict[str, str],
        sent: dict[str, set[str]],
        verdict: Verdict,
    ) -> set[str]:
        """The story's consequences; returns the staff messages it implies."""
        cid = complaint.complaint_id
        staff: set[str] = set()
        stopped = {e.clock_stopped.clock.clock_id for e in kinds["clock_stopped"]}
        breached = {e.clock_breached.clock.clock_id for e in kinds["clock_breached"]}
        ack_clocks = {c for c, kind in clock_kinds.items() if kind == "acknowledgement"}
        if not ack_clocks <= stopped | breached:  # a breached clock is over: no stop
            verdict.fail(complaint, "acknowledgement clock still running")
        for escalated in kinds["escalated"]:
            staff.add(notification_id(cid, STAFF_ESCALATION, escalated.event_id))
        verdict.counts["escalations"] += len(_distinct(kinds["escalated"]))
        match complaint.story:
            case Story.REPLIES:
                calls = _distinct(kinds["call_requested"])
                if len(calls) != 1:
                    verdict.fail(complaint, f"calls requested: {len(calls)}, expected 1")
                staff |= {notification_id(cid, STAFF_CALL_CUSTOMER, c) for c in calls}
                verdict.counts["calls requested"] += len(calls)
            case Story.WAITING:
                paused = {e.clock_paused.clock.clock_id for e in kinds["clock_paused"]}
                resumed = {e.clock_resumed.clock.clock_id for e in kinds["clock_resumed"]}
                if not paused or paused != resumed:
                    verdict.fail(complaint, f"paused {len(paused)} clocks, resumed {len(resumed)}")
                verdict.counts["clocks paused and resumed"] += len(paused & resumed)
            case Story.RESOLVED:
                # By event id: a copy of the resolution redelivered is one resolution.
                resolutions = _distinct(
                    e for e in kinds["activity"] if e.activity.new_status == pb.STATUS_RESOLVED
                )
                want = {notification_id(cid, FINAL_RESPONSE, event_id) for event_id in resolutions}
                # A response the router sampled for executive review waits for the office
                # (or the margin before its deadline, weeks away): announced, not sent.
                held = {
                    e.notification_requested.notification_id
                    for e in kinds["notification_requested"]
                    if e.notification_requested.requires_executive_review
                } - sent[FINAL_RESPONSE]
                if len(resolutions) != 1 or sent[FINAL_RESPONSE] | (held & want) != want:
                    verdict.fail(
                        complaint,
                        f"{len(resolutions)} resolutions, "
                        f"{len(sent[FINAL_RESPONSE])} final responses sent, "
                        f"{len(held)} held for executive review",
                    )
                elif held & want:
                    verdict.counts["final responses held for executive review"] += 1
                else:
                    verdict.counts["final responses"] += 1
                if set(clock_kinds) - stopped:
                    verdict.fail(complaint, f"resolved, {len(set(clock_kinds) - stopped)} running")
            case Story.LATE:
                if not ack_clocks & breached:  # the 15-minute one; regulatory ones are days
                    verdict.fail(complaint, "late acknowledgement clock never breached")
                if not kinds["escalated"]:
                    verdict.fail(complaint, "breached, never escalated")
        return staff

    def _receivers(
        self, by_notification: dict[str, list[Delivery]], expected: set[str], verdict: Verdict
    ) -> None:
        for nid, copies in by_notification.items():
            verdict.counts["deliveries (copies included)"] += len(copies)
            if nid not in expected:
                verdict.fail(None, f"message {nid} for {copies[0].complaint_id} never recorded")

    def _dead_letters(self, timeline: Timeline, verdict: Verdict) -> None:
        """Every input was valid: nothing should rest on the dead-letter topic."""
        for letter in timeline.dead_letters:
            verdict.counts["dead letters"] += 1
            verdict.fail(
                None,
                f"dead letter from {letter.consumer_group} ({letter.source_topic} "
                f"{letter.source_partition}@{letter.source_offset}, key {letter.key!r}): "
                f"{letter.reason}",
            )
