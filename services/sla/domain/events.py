"""Events a clock emits on each transition.

Every event id is a uuid5 of (complaint id, clock id, transition, discriminator), where the
discriminator is the clock's cycle plus whatever else makes the transition unique (the
warning threshold, the pause number). Replaying the same history therefore yields the same
ids, which lets consumers drop duplicates.

`cycle` counts the clock's runs: 0 for the first, +1 on every cadence reset or restart.
`occurred_at` is when the transition happened (a scheduled instant for warnings, customer
update points and breaches, however late the tick that noticed it), always in UTC.
`policy_version` is the version of the policy the clock is pinned to; `due_local_date` is
set for a date-only deadline: the local date at whose end the clock is due.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import ClassVar, Literal

from services.sla.domain.definitions import ClockKind

# Fixed for ever: changing it would change every event id ever emitted.
EVENT_ID_NAMESPACE = uuid.UUID("0b6f3a5e-9c1d-5e27-8f4a-6d2c71e0b9a4")

StopOutcome = Literal["met", "cancelled", "superseded", "lapsed"]


def event_id(complaint_id: str, clock_id: str, transition: str, discriminator: str) -> str:
    name = "\x1f".join((complaint_id, clock_id, transition, discriminator))
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, name))


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockEventBase:
    transition: ClassVar[str] = "event"

    event_id: str
    complaint_id: str
    clock_id: str
    policy_id: str
    clock_kind: ClockKind
    regulatory: bool
    cycle: int
    occurred_at: dt.datetime
    policy_version: int = 1
    # A date-only deadline's local day: due at its end (`due_at` is the next local midnight).
    due_local_date: dt.date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockStarted(ClockEventBase):
    transition: ClassVar[str] = "started"

    started_at: dt.datetime
    due_at: dt.datetime
    pausable: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockWarning(ClockEventBase):
    transition: ClassVar[str] = "warning"

    threshold_percent: int
    due_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerUpdateDue(ClockEventBase):
    """The customer should hear from us now, ahead of `due_at` (the policy's lead time).

    `update_by` is the point the policy's lead time puts before the deadline; it equals
    `occurred_at` and is spelled out for consumers that only read this event's own fields.
    """

    transition: ClassVar[str] = "customer_update_due"

    due_at: dt.datetime
    update_by: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockBreached(ClockEventBase):
    transition: ClassVar[str] = "breached"

    due_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockStopped(ClockEventBase):
    transition: ClassVar[str] = "stopped"

    outcome: StopOutcome
    due_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockPaused(ClockEventBase):
    transition: ClassVar[str] = "paused"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockResumed(ClockEventBase):
    transition: ClassVar[str] = "resumed"

    due_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockReset(ClockEventBase):
    """A progress-update cadence started a new cycle because the customer was updated."""

    transition: ClassVar[str] = "reset"

    due_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockRestarted(ClockEventBase):
    """A finished clock started a new cycle because the complaint was reopened."""

    transition: ClassVar[str] = "restarted"

    due_at: dt.datetime


ClockEvent = (
    ClockStarted
    | ClockWarning
    | CustomerUpdateDue
    | ClockBreached
    | ClockStopped
    | ClockPaused
    | ClockResumed
    | ClockReset
    | ClockRestarted
)
