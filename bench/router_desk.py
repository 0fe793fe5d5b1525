"""Micro-benchmark of the router's desk: classifications, resolutions that drain queues.

    .venv/bin/python bench/router_desk.py [--complaints N]

Prints a Markdown table. The baseline, measured in the same run, is building the same
number of frozen dataclasses and hashing their ids (work every decision does anyway), so
reports from different machines compare by ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path

from bench.machine import describe, machine_lines
from services.router.domain.desk import Activity, Desk
from services.router.domain.directory import Directory
from services.router.domain.routing import RoutingRequest

DIRECTORY = Path(__file__).resolve().parents[1] / "services" / "router" / "directory.yaml"
NOW = dt.datetime(2026, 3, 4, 10, 0, tzinfo=dt.UTC)
CATEGORIES = ("fees", "service", "fraud", "hardship", "general")
SEVERITIES = ("low", "medium", "high", "critical")


def requests(n: int) -> list[RoutingRequest]:
    return [
        RoutingRequest(
            complaint_id=f"c{i}",
            customer_id=f"u{i % (n // 3 + 1)}",
            category=CATEGORIES[i % len(CATEGORIES)],
            severity=SEVERITIES[i % len(SEVERITIES)],
            language="en",
            vulnerable=i % 7 == 0,
            abusive=i % 50 == 0,
        )
        for i in range(n)
    ]


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=20_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args()
    n = options.complaints
    directory = Directory.load(DIRECTORY)
    work = requests(n)

    started = time.perf_counter()
    for request in work:
        hashlib.sha256(replace(request, language="en").complaint_id.encode()).hexdigest()
    baseline = time.perf_counter() - started

    desk = Desk(directory)
    started = time.perf_counter()
    for i, request in enumerate(work):
        desk.classified(request, f"e{i}", NOW)
    classify = time.perf_counter() - started
    queued = sum(desk.queue_length(t.id) for t in directory.teams)

    assigned = [c for c in desk.cases.values() if c.handler_id]
    started = time.perf_counter()
    for case in assigned:
        desk.activity(Activity(f"r-{case.complaint_id}", case.complaint_id, "", False, True), NOW)
    resolve = time.perf_counter() - started

    print(f"## Router desk, {n:,} complaints ({queued:,} queued once capacity filled)\n")
    print("\n".join(machine_lines()) + "\n")
    print("| measure | rate | ratio to baseline |")
    print("|---|---|---|")
    print(f"| baseline: dataclass copy + sha256 per complaint | {rate(n, baseline)} | 1.0 |")
    print(f"| classify (assign or queue) | {rate(n, classify)} | {classify / baseline:.1f}x |")
    per_resolution = resolve / max(len(assigned), 1) / (baseline / n)
    print(
        f"| resolve, each draining its team's queue ({len(assigned):,}) "
        f"| {rate(len(assigned), resolve)} | {per_resolution:.1f}x |"
    )
    if options.json:
        figures = {
            "machine": describe(),
            "complaints": n,
            "queued": queued,
            "baseline_per_s": n / baseline,
            "classify_per_s": n / classify,
            "resolve_per_s": len(assigned) / resolve,
        }
        options.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
