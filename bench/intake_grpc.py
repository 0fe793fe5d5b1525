"""Intake's gRPC SubmitComplaint under load, beside a bare grpc.aio server of the same method.

    .venv/bin/python -m bench.intake_grpc [--requests N] [--concurrency C] [--runs R]

The load generator is ghz (`make ghz` installs it from the Go proxy), driving both servers
with the same requests: every request a new complaint (a fresh source reference), so intake
validates, classifies and publishes `received` + `classified` to Kafka for each one. The
bare server (bench/bare_intake.py) returns a fixed response. Prints Markdown; the ratio is
intake's throughput over the bare server's in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.machine import cpu_seconds, describe, emit, machine_lines
from kintsugi.common.kafka_settings import KafkaSettings
from tools.devstack.processes import StackConfig, free_port, start_service
from tools.devstack.topics import own_topics

METHOD = "kintsugi.intake.v1.IntakeService.SubmitComplaint"
PROTOS = Path(__file__).resolve().parent.parent / "protos"
GHZ_LOCATIONS = (Path(".tools/bin/ghz"), Path.home() / "go" / "bin" / "ghz")


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_s: float


@dataclass
class Report:
    requests: int
    concurrency: int
    machine: dict[str, object] = field(default_factory=describe)
    bare: list[Load] = field(default_factory=list)
    intake: list[Load] = field(default_factory=list)


def ghz_binary() -> str:
    found = shutil.which("ghz") or next((str(p) for p in GHZ_LOCATIONS if p.exists()), None)
    if found is None:
        raise SystemExit("ghz not found: run `make ghz` (installs it from the Go proxy)")
    return found


def request_template(run: str) -> str:
    """ghz fills {{.RequestNumber}}: every request is a new complaint."""
    return json.dumps(
        {
            "sourceSystem": "bench",
            "sourceReference": f"{run}-{{{{.RequestNumber}}}}",
            "customer": {
                "customerId": f"cust-{run}-{{{{.RequestNumber}}}}",
                "displayName": "Grace Hopper",
                "email": "grace@example.com",
            },
            "channel": "CHANNEL_EMAIL",
            "subject": "Double charge",
            "description": "I was charged a late fee twice this month and want it refunded.",
            "product": "credit_card",
            "jurisdiction": "GB-ENG",
            # Recent: intake refuses receipt times more than 90 days old.
            "receivedAt": (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )


async def load(port: int, pid: int, options: argparse.Namespace) -> Load:
    before = cpu_seconds(pid)
    process = await asyncio.create_subprocess_exec(
        ghz_binary(),
        "--insecure",
        # From the .proto, not reflection: ghz asks reflection for the method's own symbol,
        # which Python's descriptor pool does not resolve.
        "--proto",
        str(PROTOS / "kintsugi" / "intake" / "v1" / "intake.proto"),
        "--import-paths",
        str(PROTOS),
        "--call",
        METHOD,
        "--data",
        request_template(uuid.uuid4().hex[:10]),
        "--concurrency",
        str(options.concurrency),
        "--total",
        str(options.requests),
        "--format",
        "json",
        f"127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate()
    result = json.loads(stdout)
    latencies = {entry["percentage"]: entry["latency"] for entry in result["latencyDistribution"]}
    return Load(
        rps=result["rps"],
        p50_ms=latencies[50] / 1e6,
        p99_ms=latencies[99] / 1e6,
        errors=sum(
            count
            for code, count in result.get("statusCodeDistribution", {}).items()
            if code != "OK"
        ),
        server_cpu_s=cpu_seconds(pid) - before,
    )


async def run(options: argparse.Namespace) -> Report:
    """On topics of the run's own, deleted afterwards."""
    async with own_topics(KafkaSettings().bootstrap_servers, "bench") as kafka:
        return await _run(kafka, options)


async def _run(kafka: KafkaSettings, options: argparse.Namespace) -> Report:
    report = Report(requests=options.requests, concurrency=options.concurrency)
    bare_port = free_port()
    bare = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.bare_intake",
        "--port",
        str(bare_port),
        stdout=asyncio.subprocess.PIPE,
    )
    with tempfile.TemporaryDirectory(prefix="kintsugi-bench-") as scratch:
        config = StackConfig.on_free_ports(
            kafka.bootstrap_servers, kafka.topic_prefix, smtp_port=free_port(), log_level="WARNING"
        )
        intake = start_service("intake", config, Path(scratch))
        try:
            assert bare.stdout is not None
            await bare.stdout.readline()
            await asyncio.to_thread(intake.wait_ready)
            warm = argparse.Namespace(requests=1_000, concurrency=options.concurrency)
            await load(bare_port, bare.pid, warm)
            await load(config.grpc_port, intake.process.pid, warm)
            for n in range(options.runs):
                report.bare.append(await load(bare_port, bare.pid, options))
                report.intake.append(await load(config.grpc_port, intake.process.pid, options))
                print(
                    f"run {n + 1}: bare {report.bare[-1].rps:,.0f}/s, "
                    f"intake {report.intake[-1].rps:,.0f}/s",
                    file=sys.stderr,
                )
        finally:
            await asyncio.to_thread(intake.stop)
            bare.terminate()
            await bare.wait()
    return report


def markdown(report: Report) -> str:
    def median(loads: list[Load], attribute: str) -> float:
        return statistics.median(getattr(load, attribute) for load in loads)

    bare, intake = median(report.bare, "rps"), median(report.intake, "rps")
    rows = []
    for name, loads in (("bare grpc.aio server", report.bare), ("intake", report.intake)):
        rows.append(
            f"| {name} | {median(loads, 'rps'):,.0f} | {median(loads, 'p50_ms'):.1f} "
            f"| {median(loads, 'p99_ms'):.1f} | {median(loads, 'server_cpu_s'):.1f} "
            f"| {sum(load.errors for load in loads)} |"
        )
    return "\n".join(
        [
            "## Intake gRPC SubmitComplaint",
            "",
            *machine_lines(),
            f"- Load: ghz, {report.requests:,} requests at concurrency {report.concurrency}, "
            f"{len(report.intake)} runs (medians); every request a new complaint, published "
            "to the local broker",
            "",
            "| server | req/s | p50 ms | p99 ms | server CPU s | errors |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Intake / bare server: **{intake / bare:.2f}x**",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    os.environ.setdefault("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    report = asyncio.run(run(options))
    emit(markdown(report), asdict(report), options.json)


if __name__ == "__main__":
    main()
