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
    """Count at `now` over `horizons` (shortest first). Runs at every scrape over every
    open complaint, so each deadline is placed in its shortest horizon only and the
    nesting is summed once at the end."""
    spans = [span for _, span in horizons]
    if spans != sorted(spans):
        raise ValueError(f"horizons must be shortest first, got {[h for h, _ in horizons]}")
    longest = spans[-1]
    # Per regime: [overdue, due within horizon 0 but no shorter, within horizon 1, ...].
    buckets: dict[str, list[int]] = {}
    for complaint in complaints:
        if not complaint.due_at:
            continue
        counted = buckets.get(complaint.regime)
        if counted is None:
            counted = buckets[complaint.regime] = [0] * (len(spans) + 1)
        for due_at in complaint.due_at:
            ahead = due_at - now
            if ahead >= longest:
                continue
            if ahead < 0:
                counted[0] += 1
                continue
            for index, span in enumerate(spans, start=1):
                if ahead < span:
                    counted[index] += 1
                    break
    counts = RiskCounts()
    for regime, counted in buckets.items():
        counts.overdue[regime] = counted[0]
        running = 0
        for (horizon, _), within in zip(horizons, counted[1:], strict=True):
            running += within
            counts.due_soon[regime, horizon] = running
    return counts
