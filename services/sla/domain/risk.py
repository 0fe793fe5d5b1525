"""SLA risk: which open clocks fall due soon, by regime (the overview's risk panel).

A clock counts while it runs, or runs on past its deadline (overdue): a paused clock's
deadline moves when it resumes, so it is no risk yet, and a finished clock is none.
Horizons nest: a clock due in 30 minutes counts in the 1h, 4h and 24h horizons. A clock
already past its deadline counts only as overdue, never as due soon.

A complaint's regime is the regime of its regulatory clocks' policies; a complaint with
only internal clocks (policies for any regime) is counted under ``none``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from services.sla.domain.clock import ClockState
from services.sla.domain.complaint_clocks import ComplaintClocks
from services.sla.domain.definitions import ANY_REGIME
from services.sla.domain.facts import NO_REGIME
from services.sla.domain.policy import PolicySet

# (label, seconds ahead of now) of each horizon the risk is counted over.
HORIZONS: tuple[tuple[str, int], ...] = (("1h", 3600), ("4h", 4 * 3600), ("24h", 24 * 3600))

_COUNTED_STATES = frozenset({ClockState.RUNNING, ClockState.OVERDUE})


@dataclass(frozen=True, slots=True)
class OpenDeadlines:
    """One complaint's regime and the deadlines (epoch seconds) of its counted clocks."""

    regime: str
    due_at: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RiskCounts:
    """Clocks due within each horizon and clocks past due, for every regime with a
    counted clock (zeros included, so a regime's line drops to 0 rather than vanishing)."""

    due_soon: dict[tuple[str, str], int] = field(default_factory=dict)  # (regime, horizon)
    overdue: dict[str, int] = field(default_factory=dict)  # regime


def open_deadlines(clocks: ComplaintClocks, policies: PolicySet) -> OpenDeadlines:
    regime = NO_REGIME
    due_at: list[int] = []
    for record in clocks.clocks:
        clock_regime = policies.regime_of(record.clock_id)
        if clock_regime != ANY_REGIME:
            regime = clock_regime
        if record.state in _COUNTED_STATES:
            due_at.append(record.due_at)
    return OpenDeadlines(regime, tuple(due_at))


def count_risk(
    complaints: Iterable[OpenDeadlines],
    now: int,
    horizons: Sequence[tuple[str, int]] = HORIZONS,
) -> RiskCounts:
    counts = RiskCounts()
    for complaint in complaints:
        if not complaint.due_at:
            continue
        regime = complaint.regime
        if regime not in counts.overdue:
            counts.overdue[regime] = 0
            for horizon, _ in horizons:
                counts.due_soon[regime, horizon] = 0
        for due_at in complaint.due_at:
            if due_at < now:
                counts.overdue[regime] += 1
                continue
            for horizon, ahead in horizons:
                if due_at < now + ahead:
                    counts.due_soon[regime, horizon] += 1
    return counts
