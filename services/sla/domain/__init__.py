"""The SLA service's pure domain: business calendars, policies as data, clock state machines.

No I/O and no wall clock: every function takes the instants it needs, and instants are
floored to whole seconds on the way in. `ComplaintClocks` is the entry point; the
milestone mapping is documented in `complaint_clocks`, deadline semantics in `rules`,
calendar semantics in `business_calendar`, the state format in `serialization`.
"""

from services.sla.domain.business_calendar import BusinessCalendar, ClosedDay, WorkingSlot
from services.sla.domain.clock import ClockRecord, ClockState
from services.sla.domain.complaint_clocks import ComplaintClocks
from services.sla.domain.definitions import ClockDefinition, ClockKind, Policy
from services.sla.domain.errors import (
    CalendarError,
    ComplaintFactsError,
    PolicyError,
    PolicyIssue,
    StateError,
)
from services.sla.domain.events import (
    ClockBreached,
    ClockEvent,
    ClockPaused,
    ClockReset,
    ClockRestarted,
    ClockResumed,
    ClockStarted,
    ClockStopped,
    ClockWarning,
    CustomerUpdateDue,
)
from services.sla.domain.explain import ClockExplanation, SkippedDay
from services.sla.domain.facts import CHANNELS, SEVERITIES, ComplaintFacts, Milestone
from services.sla.domain.policy import PolicySet

__all__ = [
    "CHANNELS",
    "SEVERITIES",
    "BusinessCalendar",
    "CalendarError",
    "ClockBreached",
    "ClockDefinition",
    "ClockEvent",
    "ClockExplanation",
    "ClockKind",
    "ClockPaused",
    "ClockRecord",
    "ClockReset",
    "ClockRestarted",
    "ClockResumed",
    "ClockStarted",
    "ClockState",
    "ClockStopped",
    "ClockWarning",
    "ClosedDay",
    "ComplaintClocks",
    "ComplaintFacts",
    "ComplaintFactsError",
    "CustomerUpdateDue",
    "Milestone",
    "Policy",
    "PolicyError",
    "PolicyIssue",
    "PolicySet",
    "SkippedDay",
    "StateError",
    "WorkingSlot",
]
