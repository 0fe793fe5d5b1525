"""Intake.submit: validate, identify deterministically, claim, classify, publish once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from services.intake.adapters.protos import events_for, response_for
from services.intake.domain.classification import classify
from services.intake.domain.classification_rules import DEFAULT_RULES_FILE, parse_rules
from services.intake.domain.fingerprint import fingerprint
from services.intake.domain.submission import InvalidSubmission, Submission
from services.intake.ledger import Claim, InMemoryLedger, LedgerEntry
from services.intake.records import AcceptedComplaint
from services.intake.service import AlreadyClaimed, Intake, IntakeOptions, complaint_id_for
from tests.unit.intake.factories import NOW, RULES, a_customer, a_submission
from tests.unit.intake.fakes import RecordedEvents, UnavailableEvents

QUICK = IntakeOptions(claim_wait_s=0.05)


@pytest.fixture
def events() -> RecordedEvents:
    return RecordedEvents()


@pytest.fixture
def ledger() -> InMemoryLedger:
    return InMemoryLedger()


@pytest.fixture
def intake(events: RecordedEvents, ledger: InMemoryLedger) -> Intake:
    return Intake(events, ledger, clock=lambda: NOW, rules=RULES, options=QUICK)


def submitted(channel: str, outcome: str) -> float:
    labels = {"channel": channel, "outcome": outcome}
    return REGISTRY.get_sample_value("kintsugi_complaints_submitted_total", labels) or 0.0


async def test_a_valid_complaint_is_published_as_received_then_classified(
    intake: Intake, events: RecordedEvents
) -> None:
    submission = a_submission(description="Someone made unauthorised payments from my card")

    response = await intake.submit(submission)

    assert response.complaint_id == complaint_id_for("crm", "CASE-1001")
    assert response.category == classify(submission).category == "fraud"
    assert events.types_for(response.complaint_id) == ["received", "classified"]


async def test_acceptance_time_is_read_from_the_clock(
    intake: Intake, events: RecordedEvents
) -> None:
    await intake.submit(a_submission())

    assert events.events[0].recorded_at.ToDatetime().replace(tzinfo=NOW.tzinfo) == NOW


async def test_an_invalid_complaint_is_rejected_naming_every_rule_and_nothing_is_claimed(
    intake: Intake, events: RecordedEvents, ledger: InMemoryLedger
) -> None:
    submission = a_submission(channel="", customer=a_customer(display_name=""))

    with pytest.raises(InvalidSubmission) as rejected:
        await intake.submit(submission)

    assert [v.field for v in rejected.value.violations] == ["channel", "customer.display_name"]
    assert events.events == []
    assert ledger.log == []


async def test_the_same_content_again_gets_the_first_answer_and_nothing_is_published_twice(
    events: RecordedEvents, ledger: InMemoryLedger
) -> None:
    first = await Intake(events, ledger, clock=lambda: NOW, rules=RULES).submit(a_submission())
    accepted_before = submitted("email", "accepted")
    # Later, after the classification rules changed: the caller still gets the first answer.
    later = Intake(events, ledger, clock=lambda: NOW + timedelta(days=1), rules=RULES)

    again = await later.submit(a_submission())

    assert again == first
    assert events.types_for(first.complaint_id) == ["received", "classified"]
    assert submitted("email", "accepted") == accepted_before


async def test_different_content_under_a_used_reference_is_refused_naming_the_complaint(
    intake: Intake, events: RecordedEvents
) -> None:
    first = await intake.submit(a_submission(description="I was charged a fee twice."))
    published = list(events.events)

    with pytest.raises(AlreadyClaimed) as refused:
        await intake.submit(a_submission(description="I cannot pay my arrears any more."))

    assert refused.value.complaint_id == first.complaint_id
    assert first.complaint_id in str(refused.value)
    assert events.events == published


async def test_a_failure_to_publish_is_raised_and_a_retry_publishes_the_claimed_events(
    ledger: InMemoryLedger,
) -> None:
    with pytest.raises(ConnectionError):
        await Intake(
            UnavailableEvents(), ledger, clock=lambda: NOW, rules=RULES, options=QUICK
        ).submit(a_submission())
    events = RecordedEvents()
    # The retry arrives an hour later: it publishes what was claimed, byte for byte.
    retry = Intake(
        events, ledger, clock=lambda: NOW + timedelta(hours=1), rules=RULES, options=QUICK
    )

    response = await retry.submit(a_submission())

    [claim] = [c for c in ledger.log if isinstance(c, Claim)]
    assert events.events == list(claim.events)
    assert response.SerializeToString() == claim.response


async def test_a_claim_another_replica_is_publishing_is_waited_for_not_published_again(
    intake: Intake, events: RecordedEvents, ledger: InMemoryLedger
) -> None:
    submission = a_submission()
    claim = claim_of(submission)
    entry, _ = await ledger.claim(claim)  # another replica claimed it and is publishing

    async def other_replica_finishes() -> None:
        await asyncio.sleep(0.01)
        await ledger.mark_published(entry)

    finishing = asyncio.create_task(other_replica_finishes())
    response = await Intake(
        events, ledger, lambda: NOW, RULES, IntakeOptions(claim_wait_s=5)
    ).submit(submission)
    await finishing

    assert response.SerializeToString() == claim.response
    assert events.events == []


async def test_a_claim_whose_replica_died_is_published_by_the_next_request(
    intake: Intake, events: RecordedEvents, ledger: InMemoryLedger
) -> None:
    submission = a_submission()
    claim = claim_of(submission, accepted_after=timedelta(seconds=-30))
    await ledger.claim(claim)  # claimed, never published: that replica died

    await intake.submit(submission)

    assert events.events == list(claim.events)  # its events, with its acceptance time


async def test_two_replicas_given_different_content_at_once_accept_exactly_one(
    ledger: InMemoryLedger, events: RecordedEvents
) -> None:
    replicas = [Intake(events, ledger, lambda: NOW, RULES, QUICK) for _ in range(2)]
    contents = [a_submission(description="Charged twice."), a_submission(description="Rude.")]

    results = await asyncio.gather(
        *(r.submit(s) for r, s in zip(replicas, contents, strict=True)), return_exceptions=True
    )

    assert sorted(type(r).__name__ for r in results) == [
        "AlreadyClaimed",
        "SubmitComplaintResponse",
    ]
    assert [e.WhichOneof("payload") for e in events.events] == ["received", "classified"]


@given(st.lists(st.sampled_from(["fee", "arrears", "rude"]), min_size=1, max_size=8))
async def test_whatever_is_resubmitted_the_log_holds_the_first_content_once(
    descriptions: list[str],
) -> None:
    events, ledger = RecordedEvents(), InMemoryLedger()
    intake = Intake(events, ledger, lambda: NOW, RULES, QUICK)
    outcomes = []
    for text in descriptions:
        try:
            outcomes.append((await intake.submit(a_submission(description=text))).category)
        except AlreadyClaimed:
            outcomes.append("refused")

    first = descriptions[0]
    assert [e.WhichOneof("payload") for e in events.events] == ["received", "classified"]
    assert events.events[0].received.description == first
    assert outcomes == [outcomes[0] if text == first else "refused" for text in descriptions]


@pytest.mark.parametrize(
    ("other_system", "other_reference"),
    [("crm", "CASE-1002"), ("webform", "CASE-1001")],
    ids=["other-reference", "other-system"],
)
def test_different_upstream_references_are_different_complaints(
    other_system: str, other_reference: str
) -> None:
    assert complaint_id_for("crm", "CASE-1001") != complaint_id_for(other_system, other_reference)


def claim_of(submission: Submission, accepted_after: timedelta = timedelta(0)) -> Claim:
    complaint_id = complaint_id_for(submission.source_system, submission.source_reference)
    accepted = AcceptedComplaint(
        complaint_id, submission, classify(submission), NOW + accepted_after
    )
    return Claim(
        complaint_id,
        fingerprint(submission),
        response_for(accepted).SerializeToString(),
        events_for(accepted),
    )


def test_fingerprints_differ_exactly_when_content_differs() -> None:
    submission = a_submission()

    assert fingerprint(submission) == fingerprint(replace(submission))
    assert fingerprint(submission) != fingerprint(replace(submission, subject="Other"))
    assert fingerprint(submission) != fingerprint(
        replace(submission, attributes={"crm_queue": "business"})
    )


class BatchedMarks(InMemoryLedger):
    """Inside a consumer batch, the published marker is written only at the batch's flush."""

    def __init__(self) -> None:
        super().__init__()
        self.deferred: list[LedgerEntry] = []

    async def mark_published(self, entry: LedgerEntry) -> None:
        self.deferred.append(entry)


async def test_the_same_complaint_twice_in_one_batch_is_published_once_without_waiting(
    events: RecordedEvents,
) -> None:
    ledger = BatchedMarks()
    intake = Intake(events, ledger, lambda: NOW, RULES, IntakeOptions(claim_wait_s=30))

    first, second = await asyncio.wait_for(
        asyncio.gather(intake.submit(a_submission()), intake.submit(a_submission())), timeout=5
    )

    assert first == second
    assert [e.WhichOneof("payload") for e in events.events] == ["received", "classified"]
    assert len(ledger.deferred) == 1


async def test_the_operators_classification_rules_decide_the_category(
    events: RecordedEvents, ledger: InMemoryLedger
) -> None:
    shipped = DEFAULT_RULES_FILE.read_text(encoding="utf-8")
    assert "default_category: general" in shipped
    without_model = shipped[: shipped.index("\nword_model:")]  # their own rules, no model
    theirs = parse_rules(
        without_model.replace("default_category: general", "default_category: other"),
        "theirs.yaml",
    )
    submission = a_submission(description="Hello, I would like to talk to someone please")
    ours = await Intake(events, ledger, lambda: NOW, RULES, QUICK).submit(submission)
    other = replace(submission, source_reference="CASE-2002")
    options = replace(QUICK, classification=theirs)
    response = await Intake(events, ledger, lambda: NOW, RULES, options).submit(other)
    assert ours.category != "other"
    assert response.category == "other"
