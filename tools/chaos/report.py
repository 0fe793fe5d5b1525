"""The chaos report: every count, every fault and each recovery's time, as Markdown and JSON
with the machine it ran on (bench/machine.py), like the benchmarks' reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.machine import describe, emit, machine_lines, percentile
from tools.chaos.faults import FaultLog, FaultPlan
from tools.chaos.fleet import Recovery
from tools.chaos.load import LoadStats
from tools.chaos.verify import Verdict

SHOWN_PROBLEMS = 40


@dataclass
class ChaosReport:
    complaints: int
    activities: int
    replicas: dict[str, int]
    plan: FaultPlan
    load: LoadStats
    recoveries: list[Recovery]
    faults: FaultLog
    verdict: Verdict
    seconds: dict[str, float]
    receivers: dict[str, int]
    machine: dict[str, object] = field(default_factory=describe)

    def figures(self) -> dict[str, Any]:
        figures = asdict(self)
        # asdict would rebuild a Counter from its (key, count) pairs.
        figures["load"]["retries"] = dict(self.load.retries)
        figures["verdict"] = {
            "ok": self.verdict.ok,
            "counts": dict(sorted(self.verdict.counts.items())),
            "problems": self.verdict.problems,
            "timelines": self.verdict.timelines,
        }
        return figures


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    values = sorted(values)
    return (
        f"median {percentile(values, 50):.1f} s, p90 {percentile(values, 90):.1f} s, "
        f"max {values[-1]:.1f} s"
    )


def markdown(report: ChaosReport) -> str:
    plan, verdict = report.plan, report.verdict
    kills = [r for r in report.recoveries if r.cause == "kill"]
    own = [r for r in report.recoveries if r.cause != "kill"]
    lines = [
        "## Chaos",
        "",
        *machine_lines(),
        f"- Workload: {report.complaints:,} complaints and {report.activities:,} activities "
        f"over gRPC in {plan.window_s / 60:.1f} min; replicas "
        + ", ".join(f"{name} {count}" for name, count in report.replicas.items()),
        f"- Faults: {len(kills)} SIGKILLs of random replicas; broker "
        + (", ".join(f"{f.kind} at {f.at_s:.0f} s" for f in report.faults.broker) or "untouched")
        + f"; {len(report.faults.outages)} mail/gateway outages; seed {plan.seed}",
        "- Wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in report.seconds.items()),
        "",
        f"**{'PASS' if verdict.ok else 'FAIL'}**: {len(verdict.problems)} problems "
        "(losses, doubles, dead letters)",
        "",
        "| count | value |",
        "|---|---:|",
        f"| complaints accepted | {report.load.complaints_accepted:,} |",
        f"| activities accepted | {report.load.activities_accepted:,} |",
        f"| calls retried (by status) | {dict(report.load.retries) or 0} |",
        f"| refused for good | {len(report.load.refused)} |",
        *(f"| {name} | {value:,} |" for name, value in sorted(verdict.counts.items())),
        *(f"| receiver: {name} | {value:,} |" for name, value in report.receivers.items()),
        f"| restarts not caused by a kill (exit or liveness) | {len(own)} |",
        "",
        "Recovery after each SIGKILL: kill → replacement ready: "
        + _spread([r.ready_s for r in kills if r.ready_s is not None])
        + "; kill → its consumer groups' lag 0: "
        + _spread([r.caught_up_s for r in kills if r.caught_up_s is not None]),
        "",
        "| # | at s | instance | cause | ready s | caught up s | note |",
        "|---:|---:|---|---|---:|---:|---|",
        *(
            f"| {n} | {r.at_s:.0f} | {r.instance} | {r.cause} | {_seconds(r.ready_s)} "
            f"| {_seconds(r.caught_up_s)} | {r.error} |"
            for n, r in enumerate(report.recoveries, 1)
        ),
    ]
    if report.faults.broker:
        lines += ["", "| broker fault | at s | down s | every group caught up s |"]
        lines += ["|---|---:|---:|---:|"]
        lines += [
            f"| {f.kind} | {f.at_s:.0f} | {f.down_s:.1f} | {_seconds(f.caught_up_s)} |"
            for f in report.faults.broker
        ]
    if report.faults.outages:
        outages = report.faults.outages
        lines += [
            "",
            f"Receiver outages: {len(outages)}, "
            f"{sum(o.down_s for o in outages):.0f} s down in all ("
            + ", ".join(f"{o.server} {o.down_s:.0f} s" for o in outages[:10])
            + (", ..." if len(outages) > 10 else "")
            + ")",
        ]
    if verdict.problems:
        lines += ["", "Problems:", ""]
        lines += [f"- {p}" for p in verdict.problems[:SHOWN_PROBLEMS]]
        if len(verdict.problems) > SHOWN_PROBLEMS:
            lines.append(f"- ... {len(verdict.problems) - SHOWN_PROBLEMS} more in the JSON")
    return "\n".join(lines)


def write(report: ChaosReport, markdown_path: Path | None, json_path: Path | None) -> None:
    text = markdown(report)
    if markdown_path is not None:
        markdown_path.write_text(text + "\n", encoding="utf-8")
    emit(text, report.figures(), json_path)
