"""The sla runtime's tick: due-time index versus the full scan it replaced, same run.

    .venv/bin/python -m bench.sla_runtime [--complaints N] [--due N] [--json PATH]

Holds N open complaints (default 100,000; the default policies' clocks, receipts spread
over the past 30 days) in a ``ClockKeeper`` over an in-memory table and a producer that
only records, then measures:
- an idle tick (nothing due): the keeper's indexed tick against the old full scan
  (``set(table.keys())`` and a look at every complaint's wake-up, each tick);
- a clustered burst: `--due` complaints falling due on one instant, fired by one tick;
- rebuilding the index on partition assignment (once per rebalance).
Prints Markdown; with --json also writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import random
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import structlog

from bench.machine import describe, emit, machine_lines
from services.sla.adapters.keeper import ClockKeeper
from services.sla.adapters.stored import pack, state_of
from services.sla.domain import ComplaintClocks, ComplaintFacts, PolicySet
from services.sla.domain.instants import to_epoch
from services.sla.domain.risk import open_deadlines
from services.sla.service import SlaService

PARTITIONS = 6
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
KINDS = [
    ("uk-fca-disp", "GB-ENG"),
    ("us-cfpb", "US"),
    ("au-asic-rg271", "AU-NSW"),
    ("none", "GB-ENG"),
]


class _Recorder:
    """Stands in for the producer: every send is acknowledged at once."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, topic: str, value: bytes, key: Any = None, headers: Any = None) -> Any:
        self.sent += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


def _states(
    count: int, policies: PolicySet, seed: int, now: dt.datetime = NOW
) -> dict[bytes, bytes]:
    """`count` complaints received over the 30 days before `now`, ticked up to `now`."""
    rng = random.Random(seed)
    table: dict[bytes, bytes] = {}
    for n in range(count):
        regime, jurisdiction = KINDS[n % len(KINDS)]
        received = now - dt.timedelta(seconds=rng.randrange(30 * 86_400))
        facts = ComplaintFacts(
            f"B-{n:07d}", regime, jurisdiction, "medium", "email", "service", received
        )
        clocks, _ = ComplaintClocks.start(facts, policies)
        clocks.tick(now, policies)  # what is already past has fired
        wakeup = clocks.next_wakeup()
        # Stored as the keeper stores it: the wake-up summary line, then the state.
        table[f"B-{n:07d}".encode()] = pack(
            clocks.to_bytes(),
            None if wakeup is None else to_epoch(wakeup),
            open_deadlines(clocks, policies),
        )
    return table


def _old_full_scan(table: dict[bytes, bytes], wakeups: dict[bytes, Any], now: dt.datetime) -> int:
    """The tick before the index (steady state: every wake-up already known)."""
    held = set(table.keys())
    for gone in wakeups.keys() - held:
        del wakeups[gone]
    due = [key for key, at in wakeups.items() if at is not None and at <= now]
    return len(due)


def _timed(work: Callable[[], Any], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return samples


async def _timed_async(work: Callable[[], Any], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return samples


def _keeper(table: dict[bytes, bytes], service: SlaService, clock: Callable[[], dt.datetime]):  # type: ignore[no-untyped-def]
    recorder = _Recorder()
    keeper = ClockKeeper(
        service,
        table,
        lambda: recorder,  # type: ignore[arg-type,return-value]
        "bench-events",
        lambda: None,  # type: ignore[arg-type,return-value]
        clock,
        partitions=PARTITIONS,
    )
    return keeper, recorder


async def run(count: int, due: int, seed: int) -> dict[str, Any]:
    policies = PolicySet.default()
    service = SlaService(policies)
    started = time.perf_counter()
    table = _states(count, policies, seed)
    build_s = time.perf_counter() - started

    wakeups = {key: service.next_wakeup(state_of(v) or b"") for key, v in table.items()}
    earliest = min(at for at in wakeups.values() if at is not None)
    idle_at = earliest - dt.timedelta(seconds=1)

    now = [idle_at]
    keeper, recorder = _keeper(table, service, lambda: now[0])

    async def reassign() -> None:
        await keeper.assign(())
        await keeper.assign(range(PARTITIONS))

    rebuild = await _timed_async(reassign, 3)

    indexed_idle = await _timed_async(keeper.tick, 50)
    scan_idle = _timed(lambda: _old_full_scan(table, wakeups, idle_at), 20)

    # The burst: the `due` earliest wake-ups all happen by `burst_at`; one tick fires them.
    ordered = sorted(at for at in wakeups.values() if at is not None)
    burst_at = ordered[min(due, len(ordered)) - 1]
    scan_burst_select = _timed(lambda: _old_full_scan(table, wakeups, burst_at), 5)
    now[0] = burst_at
    before = recorder.sent
    burst_started = time.perf_counter()
    looked_at = await keeper.tick()
    burst_s = time.perf_counter() - burst_started
    published = recorder.sent - before

    return {
        "machine": describe(),
        "open_complaints": count,
        "open_in_index": keeper.open_clocks,
        "build_states_s": build_s,
        "index_rebuild_s": statistics.median(rebuild),
        "idle_tick_indexed_us": statistics.median(indexed_idle) * 1e6,
        "idle_tick_full_scan_us": statistics.median(scan_idle) * 1e6,
        "burst_due": looked_at,
        "burst_events_published": published,
        "burst_tick_s": burst_s,
        "burst_tick_per_due_us": burst_s / max(looked_at, 1) * 1e6,
        "burst_full_scan_selection_only_s": statistics.median(scan_burst_select),
        "burst_instant": burst_at.isoformat(),
    }


def markdown(r: dict[str, Any]) -> str:
    ratio = r["idle_tick_full_scan_us"] / max(r["idle_tick_indexed_us"], 1e-9)
    lines = [
        "# sla runtime: tick cost, due-time index vs full scan (same run)",
        "",
        *machine_lines(),
        f"- Open complaints held: {r['open_complaints']:,} ({r['open_in_index']:,} with a "
        "transition to come)",
        "",
        "| measure | value | baseline (same run) |",
        "|---|---|---|",
        f"| idle tick, due-time index | {r['idle_tick_indexed_us']:.1f} µs | "
        f"full scan {r['idle_tick_full_scan_us']:,.0f} µs ({ratio:,.0f}x) |",
        f"| burst tick: the {r['burst_due']:,} earliest wake-ups, fired by one tick | "
        f"{r['burst_tick_s'] * 1e3:,.0f} ms ({r['burst_tick_per_due_us']:.0f} µs per due, "
        f"{r['burst_events_published']:,} events) | full scan's selection alone "
        f"{r['burst_full_scan_selection_only_s'] * 1e3:,.1f} ms |",
        f"| index rebuild on assignment (all {PARTITIONS} partitions) | "
        f"{r['index_rebuild_s']:.2f} s | building the states: {r['build_states_s']:.1f} s |",
    ]
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=2_000, help="complaints in the burst")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args(list(argv) if argv is not None else None)
    # The keeper's info logs would land in the middle of the report.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    result = asyncio.run(run(options.complaints, options.due, options.seed))
    emit(markdown(result), result, options.json)


if __name__ == "__main__":
    main()
