"""The intake use cases: validate, identify, claim, classify and record what upstream sends.

The gRPC API and the raw topics call the same methods, so validation, ids, metrics and
log lines are the same whichever way a request arrives.

Resubmission contract (see ``ledger``): a request is claimed on the ledger before its
events are published. The same content again gets the first answer, and nothing is
published or counted again once a replica marked the events published; different content
under an id already claimed is refused (``AlreadyClaimed``) and nothing is published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kintsugi.common import metrics
from kintsugi.common.codec import Event
from kintsugi.common.ids import derived_id
from kintsugi.common.logs import get_logger
from kintsugi.common.timeutil import Clock
from kintsugi.common.vocabulary import severity_name
from kintsugi.intake.v1 import intake_pb2
from services.intake.adapters.activity_protos import (
    activity_event,
    activity_id_for,
    activity_response,
)
from services.intake.adapters.protos import events_for, response_for
from services.intake.domain.activity import Activity, validate_activity
from services.intake.domain.classification import classify
from services.intake.domain.classification_rules import ClassificationRules
from services.intake.domain.fingerprint import fingerprint
from services.intake.domain.rules import InputRules, InvalidRequest
from services.intake.domain.submission import InvalidSubmission, Submission, validate
from services.intake.ledger import Claim, Ledger, LedgerEntry
from services.intake.local_claims import LocalClaims
from services.intake.records import AcceptedComplaint

__all__ = [
    "AcceptedComplaint",
    "AlreadyClaimed",
    "ComplaintNotFound",
    "EventLog",
    "Intake",
    "complaint_id_for",
]

log = get_logger("intake")


class EventLog(Protocol):
    """Where events are published (the complaint-events topic in production)."""

    async def publish(self, *events: Event) -> None: ...


class AlreadyClaimed(Exception):
    """Different content under an id that already means something else."""

    def __init__(self, what: str, key: str, complaint_id: str) -> None:
        self.what = what
        self.key = key
        self.complaint_id = complaint_id
        super().__init__(
            f"{what} already recorded as complaint {complaint_id} with different content; "
            "resubmit the original content, or use a new reference"
        )


class ComplaintNotFound(LookupError):
    """An activity names a complaint no upstream system submitted (yet)."""

    def __init__(self, complaint_id: str, source_system: str, source_reference: str) -> None:
        self.complaint_id = complaint_id
        super().__init__(
            f"no complaint was submitted as ({source_system!r}, {source_reference!r}) "
            f"(complaint {complaint_id}); submit it before recording activity on it"
        )


@dataclass(frozen=True, slots=True)
class Recorded:
    """The (original) response, and whether this request published the events."""

    response: bytes
    published_now: bool


def complaint_id_for(source_system: str, source_reference: str) -> str:
    """The same upstream submission always maps to the same complaint, so retries are safe."""
    return derived_id("complaint", source_system, source_reference)


@dataclass(frozen=True, slots=True)
class IntakeOptions:
    # How long a replica waits for another replica that claimed the same content first to
    # mark it published before it publishes the (identical) events itself.
    claim_wait_s: float = 2.0
    # The operator's classification rules; None: the rules shipped with intake.
    classification: ClassificationRules | None = None


class Intake:
    def __init__(
        self,
        events: EventLog,
        ledger: Ledger,
        clock: Clock,
        rules: InputRules,
        options: IntakeOptions | None = None,
    ) -> None:
        self._events = events
        self._ledger = ledger
        self._clock = clock
        self._rules = rules
        self._local = LocalClaims()
        self._options = options or IntakeOptions()

    async def submit(
        self, submission: Submission, *, via: str = "grpc"
    ) -> intake_pb2.SubmitComplaintResponse:
        """Raise ``InvalidSubmission`` naming every broken rule, or ``AlreadyClaimed``;
        nothing is recorded then. Other failures (Kafka) propagate: retrying is safe."""
        channel = submission.channel or "unknown"
        now = self._clock()
        violations = validate(submission, now, self._rules)
        if violations:
            metrics.COMPLAINTS_SUBMITTED.labels(channel, "invalid").inc()
            log.info("complaint_rejected", via=via, violations=[v.field for v in violations])
            raise InvalidSubmission(violations)
        complaint_id = complaint_id_for(submission.source_system, submission.source_reference)
        digest = fingerprint(submission)

        def first_claim() -> Claim:
            accepted = AcceptedComplaint(
                complaint_id, submission, classify(submission, self._options.classification), now
            )
            return Claim(
                complaint_id,
                digest,
                response_for(accepted).SerializeToString(),
                events_for(accepted),
            )

        try:
            recorded = await self._record(complaint_id, digest, first_claim)
        except _Conflict:
            metrics.COMPLAINTS_SUBMITTED.labels(channel, "conflict").inc()
            log.info("complaint_conflict", via=via, complaint_id=complaint_id)
            raise AlreadyClaimed("source_reference", complaint_id, complaint_id) from None
        except Exception:
            metrics.COMPLAINTS_SUBMITTED.labels(channel, "failed").inc()
            log.warning("complaint_not_recorded", via=via, complaint_id=complaint_id)
            raise
        response = intake_pb2.SubmitComplaintResponse.FromString(recorded.response)
        outcome = "accepted" if recorded.published_now else "duplicate"
        metrics.COMPLAINTS_SUBMITTED.labels(channel, outcome).inc()
        if recorded.published_now:
            severity = severity_name(response.severity)
            metrics.COMPLAINTS_CLASSIFIED.labels(response.category, severity, response.regime).inc()
        log.info(
            "complaint_" + outcome,
            via=via,
            complaint_id=complaint_id,
            source_reference=submission.source_reference,
            category=response.category,
            regime=response.regime,
        )
        return response

    async def record_activity(
        self, activity: Activity, *, via: str = "grpc"
    ) -> intake_pb2.RecordActivityResponse:
        """Raise ``InvalidRequest``, ``ComplaintNotFound`` or ``AlreadyClaimed`` (nothing is
        recorded then); other failures (Kafka) propagate: retrying is safe."""
        kind = activity.kind
        now = self._clock()
        violations = validate_activity(activity, now, self._rules)
        if violations:
            metrics.ACTIVITIES_RECORDED.labels(kind, "invalid").inc()
            log.info("activity_rejected", via=via, violations=[v.field for v in violations])
            raise InvalidRequest(violations)
        complaint_id = complaint_id_for(activity.source_system, activity.source_reference)
        if self._ledger.entry(complaint_id) is None:
            await self._ledger.sync()  # it may have been claimed a moment ago elsewhere
            if self._ledger.entry(complaint_id) is None:
                metrics.ACTIVITIES_RECORDED.labels(kind, "unknown_complaint").inc()
                log.info("activity_for_unknown_complaint", via=via, complaint_id=complaint_id)
                raise ComplaintNotFound(
                    complaint_id, activity.source_system, activity.source_reference
                )
        activity_id = activity_id_for(activity.source_system, activity.activity_reference)

        def first_claim() -> Claim:
            event = activity_event(activity, complaint_id, activity_id, now)
            response = activity_response(complaint_id, activity_id)
            return Claim(activity_id, fingerprint(activity), response.SerializeToString(), (event,))

        try:
            recorded = await self._record(activity_id, fingerprint(activity), first_claim)
        except _Conflict as conflict:
            first = intake_pb2.RecordActivityResponse.FromString(conflict.entry.response)
            metrics.ACTIVITIES_RECORDED.labels(kind, "conflict").inc()
            log.info("activity_conflict", via=via, activity_id=activity_id)
            raise AlreadyClaimed("activity_reference", activity_id, first.complaint_id) from None
        except Exception:
            metrics.ACTIVITIES_RECORDED.labels(kind, "failed").inc()
            log.warning("activity_not_recorded", via=via, activity_id=activity_id)
            raise
        outcome = "accepted" if recorded.published_now else "duplicate"
        metrics.ACTIVITIES_RECORDED.labels(kind, outcome).inc()
        log.info(
            "activity_" + outcome,
            via=via,
            complaint_id=complaint_id,
            activity_id=activity_id,
            kind=kind,
            new_status=activity.new_status or None,
        )
        return intake_pb2.RecordActivityResponse.FromString(recorded.response)

    async def _record(self, key: str, digest: bytes, first_claim: _ClaimFactory) -> Recorded:
        async with self._local.exclusive(key):
            entry = self._ledger.entry(key)
            won = key in self._local.unpublished
            if entry is None:
                self._local.unpublished.add(key)
                entry, won = await self._ledger.claim(first_claim())
            if entry.fingerprint != digest:
                raise _Conflict(entry)
            events = entry.events  # dropped from the entry once it is marked published
            if entry.published or key in self._local.published:
                return Recorded(entry.response, published_now=False)
            if not won and await self._ledger.wait_published(key, self._options.claim_wait_s):
                return Recorded(entry.response, published_now=False)
            # Ours, or a claim whose replica did not finish: publish the claim's own events,
            # so a repeat carries the same ids and bytes as any copy already on the log.
            self._local.unpublished.add(key)
            await self._events.publish(*events)
            await self._ledger.mark_published(entry)
            self._local.unpublished.discard(key)
            self._local.published.add(key)
            return Recorded(entry.response, published_now=True)


class _ClaimFactory(Protocol):
    def __call__(self) -> Claim: ...


class _Conflict(Exception):
    """The id is claimed by different content."""

    def __init__(self, entry: LedgerEntry) -> None:
        self.entry = entry
