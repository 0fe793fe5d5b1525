"""What to send for each thing that happens to a complaint.

Every planned message has a deterministic notification id from (complaint, purpose,
cause), so the same trigger - replayed, redelivered, or warned about twice - plans the
same id and the ledger lets it out once. The cause is what the message answers: the
assignment for an acknowledgement, the clock cycle for a progress update or delay notice,
the status-change event for a resolution.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from kintsugi.common.ids import derived_id

# The purposes live with the case (which refuses one this build does not know); they are
# still named from here, where messages are planned.
from services.notifier.domain.case import ACKNOWLEDGEMENT as ACKNOWLEDGEMENT
from services.notifier.domain.case import DELAY_NOTICE as DELAY_NOTICE
from services.notifier.domain.case import FINAL_RESPONSE as FINAL_RESPONSE
from services.notifier.domain.case import HOLDING_RESPONSE as HOLDING_RESPONSE
from services.notifier.domain.case import PROGRESS_UPDATE as PROGRESS_UPDATE
from services.notifier.domain.case import PUBLIC_ACKNOWLEDGEMENT as PUBLIC_ACKNOWLEDGEMENT
from services.notifier.domain.case import Case
from services.notifier.domain.regimes import wording
from services.notifier.domain.staff import (
    FAILED_PURPOSE,
    LEVEL,
    STAFF_CALL_CUSTOMER,
    STAFF_DELIVERY_FAILED,
    STAFF_ESCALATION,
    CallRequested,
    Escalated,
    is_staff,
    staff_facts,
)

# Clocks whose deadline the customer was promised in the acknowledgement.
CUSTOMER_FACING_KINDS = frozenset({"final_response", "holding_response"})


@dataclass(frozen=True, slots=True)
class Planned:
    notification_id: str
    purpose: str
    cause: str
    facts: dict[str, str] = field(default_factory=dict)
    # Goes out on the public channel the complaint was made on, without personal data.
    public: bool = False


@dataclass(frozen=True, slots=True)
class Assigned:
    handler_name: str
    team_name: str
    handler_id: str = ""
    # Sampled for executive review: the complaint's responses wait for the office.
    executive_review: bool = False


@dataclass(frozen=True, slots=True)
class ClockInfo:
    clock_id: str
    kind: str
    cycle: int
    regulatory: bool


@dataclass(frozen=True, slots=True)
class UpdateDue:
    clock: ClockInfo
    due_at: datetime
    update_by: datetime


@dataclass(frozen=True, slots=True)
class DeadlineWarning:
    clock: ClockInfo
    threshold_percent: int
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Resolved:
    event_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class NoteRecorded:
    """An internal note; from an executive reviewer it approves held responses."""

    event_id: str
    actor_id: str


Trigger = (
    Assigned | UpdateDue | DeadlineWarning | Resolved | Escalated | CallRequested | NoteRecorded
)


@dataclass(frozen=True, slots=True)
class PlanRules:
    # A warning below this share of a customer-facing clock is too early for a delay
    # notice; the sla's customer_update_due (its lead time) usually comes first anyway.
    delay_notice_from_percent: int = 75
    # Staff member id -> email, for escalations and "call the customer" tasks.
    staff_emails: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.delay_notice_from_percent <= 99:
            raise ValueError("delay_notice_from_percent: must be between 1 and 99")


def notification_id(complaint_id: str, purpose: str, cause: str) -> str:
    if purpose == ACKNOWLEDGEMENT:
        # One acknowledgement per complaint, whoever is assigned (and the id older versions
        # used, so their ledger entries still count).
        return derived_id(complaint_id, "notification", ACKNOWLEDGEMENT)
    return derived_id(complaint_id, "notification", purpose, cause)


def _planned(case: Case, purpose: str, cause: str, **facts: str) -> Planned:
    return Planned(notification_id(case.complaint_id, purpose, cause), purpose, cause, facts)


def _delay_purpose(case: Case, clock: ClockInfo) -> str:
    holding_kind = wording(case.regime, case.category).holding_clock_kind
    return HOLDING_RESPONSE if clock.kind == holding_kind else DELAY_NOTICE


def plan(case: Case, trigger: Trigger, rules: PlanRules | None = None) -> list[Planned]:
    rules = rules or PlanRules()
    match trigger:
        case Assigned() | Escalated() | CallRequested() | NoteRecorded():
            return _plan(case, trigger, rules)  # whether or not it is resolved
        case _ if case.resolved:
            # Nothing more to promise or excuse once the final response is out. What the
            # ledger already holds is planned again, though: a crash after a message was
            # recorded sent but before it was announced replays its trigger, and the
            # replay must announce it (found by `make chaos`: a final response delivered,
            # never on the timeline, because the saved case already said resolved).
            return [
                p for p in _plan(case, trigger, rules) if case.entry(p.notification_id) is not None
            ]
    return _plan(case, trigger, rules)


def _plan(case: Case, trigger: Trigger, rules: PlanRules) -> list[Planned]:
    match trigger:
        case Assigned():
            planned = [_planned(case, ACKNOWLEDGEMENT, "assigned")]
            if case.channel == "social_public":
                public = _planned(case, PUBLIC_ACKNOWLEDGEMENT, "assigned")
                planned.insert(
                    0, Planned(public.notification_id, public.purpose, "assigned", public=True)
                )
            return planned
        case Escalated():
            facts = staff_facts(
                rules.staff_emails, trigger.to_handler_id, trigger.to_name, trigger.reasons
            )
            return [
                _planned(
                    case, STAFF_ESCALATION, trigger.event_id, **facts, **{LEVEL: str(trigger.level)}
                )
            ]
        case CallRequested():
            facts = staff_facts(
                rules.staff_emails, trigger.handler_id, trigger.handler_name, trigger.reasons
            )
            return [_planned(case, STAFF_CALL_CUSTOMER, trigger.event_id, **facts)]
        case UpdateDue(clock=clock) if clock.kind in CUSTOMER_FACING_KINDS and clock.regulatory:
            return [_delay(case, clock, trigger.due_at)]
        case UpdateDue(clock=clock):
            cause = f"{clock.clock_id}/{clock.cycle}"
            return [_planned(case, PROGRESS_UPDATE, cause, next_update_by=_iso(trigger.due_at))]
        case DeadlineWarning(clock=clock) if (
            clock.kind in CUSTOMER_FACING_KINDS
            and clock.regulatory
            and trigger.threshold_percent >= rules.delay_notice_from_percent
        ):
            return [_delay(case, clock, trigger.due_at)]
        case DeadlineWarning():
            return []
        case Resolved():
            return [_planned(case, FINAL_RESPONSE, trigger.event_id, resolved_at=_iso(trigger.at))]
        case NoteRecorded():
            return []  # a note asks the customer to be told nothing (it may release a hold)
    return []


def plan_owner_alert(
    case: Case, failed_notification_id: str, failed_purpose: str, reason: str, rules: PlanRules
) -> Planned | None:
    """The owner's alert when a customer message failed for good; one per failed message.

    None for a staff message (no alerts about alerts) or a complaint nobody owns yet (the
    `notification_failed` event and the failing-notifications alert still say so).
    """
    if is_staff(failed_purpose) or not case.owner_id:
        return None
    facts = staff_facts(rules.staff_emails, case.owner_id, case.owner_name, (reason,))
    return _planned(
        case,
        STAFF_DELIVERY_FAILED,
        failed_notification_id,
        **facts,
        **{FAILED_PURPOSE: failed_purpose},
    )


def _delay(case: Case, clock: ClockInfo, due_at: datetime) -> Planned:
    # One per clock cycle, whether the sla's update lead or its warning asked first.
    purpose = _delay_purpose(case, clock)
    return _planned(
        case,
        purpose,
        f"{clock.clock_id}/{clock.cycle}",
        deadline=_iso(due_at),
        clock_kind=clock.kind,
    )


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("instant: must be timezone-aware")
    return at.isoformat()
