"""Micro-benchmark of the SLA domain: starting clocks, ticking them, storing them.

    .venv/bin/python -m bench.sla_clocks [--quick] [--complaints N] [--seed S]

Prints a Markdown report to stdout. Every figure comes with a baseline measured in the same
run on the same machine (a `datetime + timedelta` loop, `json.dumps`/`json.loads` of an
equivalent verbose document), so reports from different machines compare by ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.machine import machine_lines, percentile
from services.sla.domain import (
    CHANNELS,
    SEVERITIES,
    ComplaintClocks,
    ComplaintFacts,
    Milestone,
    PolicySet,
)

REGIMES_AND_JURISDICTIONS = [
    ("uk-fca-disp", "GB-ENG"),
    ("uk-fca-disp", "GB-SCT"),
    ("uk-fca-disp", "GB-NIR"),
    ("uk-psd2-emoney", "GB-ENG"),
    ("us-cfpb", "US"),
    ("au-asic-rg271", "AU-NSW"),
    ("au-asic-rg271", "AU-VIC"),
    ("none", "GB-ENG"),
]
CATEGORIES = ["fees", "service", "fraud", "hardship", "default_notice", "superannuation"]
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SWEEP_START = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)  # a Monday morning in London


@dataclass
class Row:
    measure: str
    value: float
    unit: str
    baseline: str = ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller run, well under a minute")
    parser.add_argument("--complaints", type=int, help="number of complaints (overrides --quick)")
    parser.add_argument("--seed", type=int, default=20261218)
    options = parser.parse_args()
    count = options.complaints or (3_000 if options.quick else 30_000)

    policies = PolicySet.default()
    rng = random.Random(options.seed)
    facts = [random_facts(rng, index) for index in range(count)]
    warm_up(policies, facts)

    rows: list[Row] = []
    baseline_add = per_second(datetime_addition_loop, 1_000_000)
    rows.append(Row("baseline: aware `datetime + timedelta`", baseline_add, "ops/s"))

    started, start_rate = timed(lambda: [ComplaintClocks.start(f, policies)[0] for f in facts])
    aggregates: list[ComplaintClocks] = started
    clock_count = sum(len(aggregate.clocks) for aggregate in aggregates)
    clocks_per_second = start_rate * clock_count / count
    rows.append(
        Row(
            "ComplaintClocks.start",
            start_rate,
            "complaints/s",
            f"{baseline_add / start_rate:,.0f} datetime additions each",
        )
    )
    rows.append(
        Row(
            "clocks started",
            clocks_per_second,
            "clocks/s",
            f"{baseline_add / clocks_per_second:,.0f} datetime additions each",
        )
    )

    idle_rate = idle_tick_rate(aggregates, policies)
    rows.append(
        Row(
            "tick, nothing due (fast path)",
            idle_rate,
            "ticks/s",
            f"{baseline_add / idle_rate:,.1f} datetime additions each",
        )
    )
    busy_rate, events_per_tick = busy_tick_rate(aggregates, policies)
    rows.append(
        Row(
            "tick at next_wakeup (emits)",
            busy_rate,
            "ticks/s",
            f"{events_per_tick:.2f} events per tick",
        )
    )
    open_book = [
        ComplaintClocks.start(receive_within_fortnight(complaint, rng), policies)[0]
        for complaint in facts
    ]
    catch_up_rate, catch_up_events = sweep_tick_rate(open_book, policies, hours=1)
    rows.append(
        Row(
            "catch-up tick, 14 days of open complaints",
            catch_up_rate,
            "ticks/s",
            f"{catch_up_events / len(open_book):.1f} events per aggregate",
        )
    )
    steady_rate, steady_events = sweep_tick_rate(
        open_book, policies, hours=24 if options.quick else 72, first_hour=1
    )
    rows.append(
        Row(
            "steady hourly sweep of the same book",
            steady_rate,
            "ticks/s",
            f"{steady_events / len(open_book):.2f} events per aggregate",
        )
    )

    drive_through_milestones(aggregates, policies, rng)
    payloads = [aggregate.to_bytes() for aggregate in aggregates]
    sizes = sorted(len(payload) for payload in payloads)
    per_clock = sum(sizes) / sum(len(aggregate.clocks) for aggregate in aggregates)
    verbose = [verbose_document(aggregate) for aggregate in aggregates]
    verbose_sizes = [len(json.dumps(document).encode()) for document in verbose]
    rows.append(
        Row(
            "bytes per ComplaintClocks, mean",
            statistics.fmean(sizes),
            "bytes",
            f"verbose JSON: {statistics.fmean(verbose_sizes):,.0f} bytes",
        )
    )
    rows.append(
        Row(
            "bytes per ComplaintClocks, p95",
            percentile(sizes, 95),
            "bytes",
            f"verbose JSON p95: {percentile(sorted(verbose_sizes), 95):,.0f} bytes",
        )
    )
    rows.append(Row("bytes per clock, mean (header share included)", per_clock, "bytes"))

    dumps_rate = per_second_over(
        lambda: [json.dumps(document) for document in verbose], len(verbose)
    )
    encoded_verbose = [json.dumps(document) for document in verbose]
    loads_rate = per_second_over(
        lambda: [json.loads(text) for text in encoded_verbose], len(verbose)
    )
    to_bytes_rate = per_second_over(
        lambda: [aggregate.to_bytes() for aggregate in aggregates], count
    )
    from_bytes_rate = per_second_over(
        lambda: [ComplaintClocks.from_bytes(p) for p in payloads], count
    )
    rows.append(Row("baseline: json.dumps(verbose dict)", dumps_rate, "docs/s"))
    rows.append(Row("baseline: json.loads(verbose dict)", loads_rate, "docs/s"))
    rows.append(
        Row(
            "to_bytes",
            to_bytes_rate,
            "aggregates/s",
            f"{to_bytes_rate / dumps_rate:.2f}x json.dumps",
        )
    )
    rows.append(
        Row(
            "from_bytes",
            from_bytes_rate,
            "aggregates/s",
            f"{from_bytes_rate / loads_rate:.2f}x json.loads",
        )
    )

    print(report(rows, count, clock_count, options))


def random_facts(rng: random.Random, index: int) -> ComplaintFacts:
    regime, jurisdiction = rng.choice(REGIMES_AND_JURISDICTIONS)
    received = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
        seconds=rng.randrange(0, 2 * 365 * 86_400)
    )
    return ComplaintFacts(
        complaint_id=f"CMP-{index:08d}",
        regime=regime,
        jurisdiction=jurisdiction,
        severity=rng.choice(SEVERITIES),
        channel=rng.choice(CHANNELS),
        category=rng.choice(CATEGORIES),
        received_at=received,
    )


def warm_up(policies: PolicySet, facts: Sequence[ComplaintFacts]) -> None:
    """Fill the calendars' holiday and working-interval caches, as a running worker would."""
    for complaint in facts[: min(len(facts), 2_000)]:
        clocks, _ = ComplaintClocks.start(complaint, policies)
        clocks.tick(complaint.received_at + dt.timedelta(days=90), policies)


def datetime_addition_loop(iterations: int) -> None:
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    step = dt.timedelta(seconds=1)
    for _ in range(iterations):
        moment = moment + step


def per_second(work: Callable[[int], None], iterations: int) -> float:
    best = min(_elapsed(lambda: work(iterations)) for _ in range(5))
    return iterations / best


def per_second_over(work: Callable[[], object], items: int) -> float:
    best = min(_elapsed(work) for _ in range(3))
    return items / best


def timed(work: Callable[[], list[ComplaintClocks]]) -> tuple[list[ComplaintClocks], float]:
    begin = time.perf_counter()
    result = work()
    return result, len(result) / (time.perf_counter() - begin)


def _elapsed(work: Callable[[], object]) -> float:
    begin = time.perf_counter()
    work()
    return time.perf_counter() - begin


def idle_tick_rate(aggregates: Sequence[ComplaintClocks], policies: PolicySet) -> float:
    instants = []
    for aggregate in aggregates:
        wakeup = aggregate.next_wakeup()
        instants.append(wakeup - dt.timedelta(seconds=1) if wakeup else aggregate.received_at)

    def sweep() -> None:
        for aggregate, instant in zip(aggregates, instants, strict=True):
            aggregate.tick(instant, policies)

    return per_second_over(sweep, len(aggregates))


def busy_tick_rate(
    aggregates: Sequence[ComplaintClocks], policies: PolicySet
) -> tuple[float, float]:
    copies = [aggregate.copy() for aggregate in aggregates]
    ticks = events = 0
    begin = time.perf_counter()
    for aggregate in copies:
        for _ in range(4):
            wakeup = aggregate.next_wakeup()
            if wakeup is None:
                break
            events += len(aggregate.tick(wakeup, policies))
            ticks += 1
    elapsed = time.perf_counter() - begin
    return ticks / elapsed, events / max(ticks, 1)


def receive_within_fortnight(complaint: ComplaintFacts, rng: random.Random) -> ComplaintFacts:
    """The same complaint, received in the 14 days before the sweep starts."""
    received = SWEEP_START - dt.timedelta(seconds=rng.randrange(1, 14 * 86_400))
    return ComplaintFacts(
        complaint.complaint_id,
        complaint.regime,
        complaint.jurisdiction,
        complaint.severity,
        complaint.channel,
        complaint.category,
        received,
    )


def sweep_tick_rate(
    aggregates: Sequence[ComplaintClocks], policies: PolicySet, hours: int, first_hour: int = 0
) -> tuple[float, int]:
    """Tick every aggregate once an hour, as a timer sweep would; mutates `aggregates`."""
    ticks = events = 0
    begin = time.perf_counter()
    for hour in range(first_hour, first_hour + hours):
        now = SWEEP_START + dt.timedelta(hours=hour)
        for aggregate in aggregates:
            events += len(aggregate.tick(now, policies))
            ticks += 1
    return ticks / (time.perf_counter() - begin), events


def drive_through_milestones(
    aggregates: Sequence[ComplaintClocks], policies: PolicySet, rng: random.Random
) -> None:
    """Give the state realistic variety: acknowledged, paused, updated, answered..."""
    for aggregate in aggregates:
        instant = aggregate.received_at
        for milestone in (
            Milestone.ACKNOWLEDGED,
            Milestone.WAITING_ON_CUSTOMER,
            Milestone.CUSTOMER_RESPONDED,
            Milestone.CUSTOMER_UPDATED,
            Milestone.FINAL_RESPONSE_SENT,
        ):
            if rng.random() < 0.3:
                break
            instant += dt.timedelta(minutes=rng.randrange(5, 3 * 24 * 60))
            aggregate.on_milestone(milestone, instant, policies)


def verbose_document(aggregate: ComplaintClocks) -> dict[str, object]:
    """What a straightforward implementation would store: long keys and ISO strings."""

    def iso(instant: int | None) -> str | None:
        return None if instant is None else (EPOCH + dt.timedelta(seconds=instant)).isoformat()

    return {
        "complaint_id": aggregate.complaint_id,
        "jurisdiction": aggregate.jurisdiction,
        "received_at": aggregate.received_at.isoformat(),
        "clocks": [
            {
                "clock_id": record.clock_id,
                "state": record.state.name.lower(),
                "cycle": record.cycle,
                "started_at": iso(record.started_at),
                "due_at": iso(record.due_at),
                "allowed_seconds": record.budget,
                "next_at": iso(record.next_at),
                "anchor_at": iso(record.anchor_at),
                "consumed_seconds": record.consumed,
                "warned_percent": record.warned_percent,
                "update_sent": record.update_sent,
                "ended_at": iso(record.ended_at),
                "paused_at": iso(record.paused_at),
                "paused_seconds": record.paused_seconds,
                "pauses": record.pauses,
            }
            for record in aggregate.clocks
        ],
    }


def report(rows: list[Row], complaints: int, clocks: int, options: argparse.Namespace) -> str:
    lines = [
        "## SLA domain micro-benchmark",
        "",
        *machine_lines(),
        f"- Workload: {complaints:,} complaints ({clocks:,} clocks, "
        f"{clocks / complaints:.1f} per complaint), seed {options.seed}"
        f"{', --quick' if options.quick else ''}; single thread",
        "- Repeated measurements report the best run (baseline of 5, others of 3)",
        "",
        "| measure | value | unit | relative to the baseline in this run |",
        "|---|---:|---|---|",
    ]
    for row in rows:
        value = f"{row.value:,.0f}" if row.value >= 100 else f"{row.value:,.1f}"
        lines.append(f"| {row.measure} | {value} | {row.unit} | {row.baseline} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
