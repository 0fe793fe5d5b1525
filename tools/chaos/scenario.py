"""What the chaos run submits, and what each complaint must end with.

Every complaint follows one story, drawn from a seeded generator so a run can be repeated:
mixed channels (email, web form, phone, branch, SMS and chat - the last two answered
through HTTP gateways), jurisdictions and so regimes, categories and vulnerability, and
what happens afterwards as upstream systems report it (customer replies, waiting on the
customer, a resolution). The expectations are the ones that follow from the input alone,
whatever the faults and their timing.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2
from services.intake.service import complaint_id_for

SOURCE_SYSTEM = "chaos"


class Story(enum.StrEnum):
    # Acknowledged, then nothing more happens within the run.
    QUIET = "quiet"
    # Three electronic messages from the customer: the owner is asked to phone (rule of
    # three), once.
    REPLIES = "replies"
    # Waiting on the customer, then the customer answers: pausable clocks pause and resume.
    WAITING = "waiting"
    # A handler replies and resolves it: the customer gets a final response, every clock
    # stops.
    RESOLVED = "resolved"
    # Received 20 minutes before it reaches us: the 15-minute acknowledgement target is
    # already missed, so the clock breaches and the team's chain is escalated to.
    LATE = "late"


STORY_WEIGHTS = {
    Story.QUIET: 30,
    Story.REPLIES: 15,
    Story.WAITING: 20,
    Story.RESOLVED: 25,
    Story.LATE: 10,
}
# Channel the complaint came in on -> where the notifier replies (the receiving server).
CHANNELS = {
    pb.CHANNEL_EMAIL: "email",
    pb.CHANNEL_WEB_FORM: "email",
    pb.CHANNEL_PHONE: "email",
    pb.CHANNEL_BRANCH: "email",
    pb.CHANNEL_SMS: "sms",
    pb.CHANNEL_CHAT: "chat",
}
CHANNEL_WEIGHTS = {
    pb.CHANNEL_EMAIL: 35,
    pb.CHANNEL_WEB_FORM: 15,
    pb.CHANNEL_PHONE: 10,
    pb.CHANNEL_BRANCH: 5,
    pb.CHANNEL_SMS: 20,
    pb.CHANNEL_CHAT: 15,
}
# (jurisdiction, language, product, subject, description): categories and regimes vary.
CASES = (
    ("GB-ENG", "en-GB", "mortgage", "Charged twice", "I was charged an arrangement fee twice."),
    (
        "GB-SCT",
        "en-GB",
        "loan",
        "Struggling",
        "Since my wife passed away I can't pay the loan and nobody calls me back.",
    ),
    ("US", "en-US", "card", "Unauthorized", "There are unauthorized charges on my card."),
    (
        "AU-NSW",
        "en-AU",
        "superannuation",
        "Rollover delayed",
        "My superannuation rollover has been delayed for weeks.",
    ),
    ("GB-ENG", "en-GB", "payments", "Transfer missing", "A payment I made never arrived."),
    ("GB-WLS", "en-GB", "savings", "Interest wrong", "The interest on my savings is wrong."),
)
# Seconds between a complaint's submission and each of its activities (the case moves
# on while faults happen).
ACTIVITY_GAP_S = 2.0
LATE_BY = timedelta(minutes=20)
RECENT_BY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Activity:
    reference: str
    kind: str  # "customer_message", "staff_response", "waiting", "responded", "resolved"
    after_s: float

    def request(self, complaint_reference: str, at: datetime) -> intake_pb2.RecordActivityRequest:
        request = intake_pb2.RecordActivityRequest(
            source_system=SOURCE_SYSTEM,
            source_reference=complaint_reference,
            activity_reference=self.reference,
            actor_id="chaos-handler",
            actor_name="Chaos Handler",
        )
        request.occurred_at.FromDatetime(at)
        match self.kind:
            case "customer_message":
                request.actor_id = f"cust-{complaint_reference}"
                request.customer_message.channel = pb.CHANNEL_EMAIL
                request.customer_message.summary = "Any news on my complaint?"
            case "staff_response":
                request.staff_response.channel = pb.CHANNEL_EMAIL
                request.staff_response.summary = "Explained what went wrong and the fix."
            case "waiting":
                request.status_change.new_status = pb.STATUS_WAITING_ON_CUSTOMER
            case "responded":
                request.status_change.new_status = pb.STATUS_CUSTOMER_RESPONDED
            case "resolved":
                request.status_change.new_status = pb.STATUS_RESOLVED
                request.status_change.outcome = pb.RESOLUTION_OUTCOME_UPHELD
            case _:
                raise ValueError(f"activity kind {self.kind!r}")
        return request


@dataclass(frozen=True, slots=True)
class Complaint:
    number: int
    reference: str
    story: Story
    channel: pb.Channel.ValueType
    case: int
    activities: tuple[Activity, ...]

    @property
    def complaint_id(self) -> str:
        return complaint_id_for(SOURCE_SYSTEM, self.reference)

    @property
    def reply_channel(self) -> str:
        return CHANNELS[self.channel]

    def request(self, now: datetime) -> intake_pb2.SubmitComplaintRequest:
        """Built once, at the first attempt: a retry resends these very bytes."""
        jurisdiction, language, product, subject, text = CASES[self.case]
        customer = pb.Customer(
            customer_id=f"cust-{self.reference}",
            display_name=f"Customer {self.number}",
            email=f"c{self.number}-{self.reference}@example.com",
            phone=f"+447700900{self.number % 1000:03d}",
            preferred_language=language,
        )
        request = intake_pb2.SubmitComplaintRequest(
            source_system=SOURCE_SYSTEM,
            source_reference=self.reference,
            customer=customer,
            channel=self.channel,
            subject=subject,
            description=text,
            product=product,
            jurisdiction=jurisdiction,
        )
        request.received_at.FromDatetime(now - (LATE_BY if self.story is Story.LATE else RECENT_BY))
        return request


def _activities(reference: str, story: Story) -> tuple[Activity, ...]:
    kinds: tuple[str, ...] = {
        Story.QUIET: (),
        Story.LATE: (),
        Story.REPLIES: ("customer_message",) * 3,
        Story.WAITING: ("waiting", "responded"),
        Story.RESOLVED: ("staff_response", "resolved"),
    }[story]
    return tuple(
        Activity(f"{reference}-a{n}", kind, ACTIVITY_GAP_S * (n + 1))
        for n, kind in enumerate(kinds)
    )


def build(count: int, run: str, seed: int) -> list[Complaint]:
    rng = random.Random(seed)
    stories = list(STORY_WEIGHTS)
    channels = list(CHANNEL_WEIGHTS)
    complaints = []
    for number in range(count):
        reference = f"{run}-{number}"
        story = rng.choices(stories, weights=list(STORY_WEIGHTS.values()))[0]
        complaints.append(
            Complaint(
                number=number,
                reference=reference,
                story=story,
                channel=rng.choices(channels, weights=list(CHANNEL_WEIGHTS.values()))[0],
                case=rng.randrange(len(CASES)),
                activities=_activities(reference, story),
            )
        )
    return complaints
