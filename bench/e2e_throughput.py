"""End-to-end benchmark: a burst through all four services beside a bare relay, same run.

    .venv/bin/python -m bench.e2e_throughput [--complaints N] [--runs R] [--rate 200]

Against the broker at KAFKA_BOOTSTRAP_SERVERS (default 127.0.0.1:9092, e.g. `make kafka`),
on topics of its own, it starts the four services as `make up` does and measures:

- burst: N complaints published on the raw topic as fast as a producer can; the time until
  every one has reached each stage (received, classified, assigned, clocks started,
  acknowledged), from the record timestamps on the events topic;
- baseline: the same N records through a bare one-hop aiokafka relay (bench/relay.py);
- acknowledgement latency: complaints submitted over gRPC at a steady rate, each one's
  time from submission to its `notification_sent` event;
- CPU seconds per process (the broker's included) during each burst.

Each burst figure is the median of R runs; ratios compare with the relay of the same run.
Prints Markdown; `--json PATH` also writes the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc

from bench.machine import cpu_seconds, describe, emit, kafka_broker_pid, machine_lines, percentile
from kintsugi.common.bootstrap import create_topics
from kintsugi.common.codec import EVENT_TYPE_HEADER, header_value
from kintsugi.common.kafka import make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.topics import COMPLAINT_EVENTS, RAW_COMPLAINTS, TopicSpec
from kintsugi.intake.v1 import intake_pb2, intake_pb2_grpc
from services.intake.service import complaint_id_for
from tests.e2e.test_pipeline import complaint
from tools.devstack.directory import write_roomy_directory
from tools.devstack.events import TopicTail
from tools.devstack.mailbox import start_mailbox
from tools.devstack.processes import (
    ServiceProcess,
    StackConfig,
    free_port,
    start_stack,
)
from tools.devstack.topics import own_topics

STAGES = ("received", "classified", "assigned", "clocks_started", "notification_sent")
JURISDICTIONS = ("GB-ENG", "US", "AU-NSW", "GB-SCT")
SOURCE = "bench"
# How long reading a burst back may take before the run is declared incomplete.
READ_TIMEOUT_S = 600


@dataclass
class Burst:
    complaints: int
    seconds_to_stage: dict[str, float]
    cpu_seconds: dict[str, float]

    @property
    def rate(self) -> float:
        return self.complaints / self.seconds_to_stage["notification_sent"]


@dataclass
class Report:
    complaints: int
    runs: int
    machine: dict[str, object] = field(default_factory=describe)
    relay_rates: list[float] = field(default_factory=list)
    bursts: list[Burst] = field(default_factory=list)
    ack_latencies_s: list[float] = field(default_factory=list)
    ack_rate: float = 0.0
    ack_retries: int = 0


def requests(count: int, run: str) -> list[intake_pb2.SubmitComplaintRequest]:
    batch = []
    for n in range(count):
        request = complaint(
            f"{run}-{n}", f"bench-{n}-{run}@example.com", JURISDICTIONS[n % len(JURISDICTIONS)]
        )
        request.source_system = SOURCE
        batch.append(request)
    return batch


async def publish(kafka: KafkaSettings, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = make_producer(kafka, "bench-publisher")
    await producer.start()
    try:
        sends = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def read_since(
    kafka: KafkaSettings, topic: str, since: float, timeout_s: float = READ_TIMEOUT_S
) -> AsyncIterator[tuple[bytes, str | None, float]]:
    """(key, event type, append time) of each record appended since ``since`` (epoch s),
    until the caller stops or the timeout; headers only, no payload decoding."""
    async with TopicTail(kafka, topic, since=since) as tail:
        async for r in tail.records(timeout_s):
            yield r.key or b"", header_value(r.headers, EVENT_TYPE_HEADER), r.timestamp / 1000


async def bench_relay(kafka: KafkaSettings, records: list[tuple[bytes, bytes]]) -> float:
    """Records per second through the bare relay, first publish to last relayed record."""
    run = uuid.uuid4().hex[:8]
    source = TopicSpec(f"bench-relay-in-{run}", "relay input", RAW_COMPLAINTS.partitions)
    target = TopicSpec(f"bench-relay-out-{run}", "relay output", COMPLAINT_EVENTS.partitions)
    await create_topics(kafka, (source, target))
    relay = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.relay",
        "--source",
        kafka.topic(source),
        "--target",
        kafka.topic(target),
        "--group",
        f"{kafka.topic_prefix}bench-relay-{run}",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert relay.stdout is not None
        await relay.stdout.readline()  # "ready"
        await asyncio.sleep(3)  # let the group settle before the clock starts
        began = time.time()
        await publish(kafka, kafka.topic(source), records)
        relayed, last = 0, began
        async for _, _, at in read_since(kafka, kafka.topic(target), began):
            relayed, last = relayed + 1, max(last, at)
            if relayed >= len(records):
                return len(records) / (last - began)
        raise RuntimeError(f"relay delivered {relayed} of {len(records)}")
    finally:
        relay.terminate()
        await relay.wait()


async def bench_burst(
    kafka: KafkaSettings,
    processes: list[ServiceProcess],
    count: int,
    sent_before: Callable[[], int],
) -> Burst:
    run = uuid.uuid4().hex[:8]
    batch = requests(count, run)
    ids = {complaint_id_for(SOURCE, r.source_reference) for r in batch}
    records = [(r.source_reference.encode(), r.SerializeToString()) for r in batch]
    pids = {p.name: p.process.pid for p in processes}
    broker = kafka_broker_pid()
    if broker is not None:
        pids["kafka broker"] = broker
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    mails_before = sent_before()
    began = time.time()
    await publish(kafka, kafka.topic(RAW_COMPLAINTS), records)
    deadline = time.monotonic() + max(300, count / 10)
    # The mailbox counts in its own thread; polling it is the simplest honest signal.
    while sent_before() - mails_before < count and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.25)
    cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}

    first_at: dict[str, dict[bytes, float]] = {stage: {} for stage in STAGES}
    wanted = {i.encode() for i in ids}

    async for key, kind, at in read_since(kafka, kafka.topic(COMPLAINT_EVENTS), began):
        if kind in first_at and key in wanted:
            first_at[kind].setdefault(key, at)
            if all(len(seen) >= count for seen in first_at.values()):
                break
    missing = {stage: count - len(seen) for stage, seen in first_at.items() if len(seen) < count}
    if missing:
        raise RuntimeError(f"complaints missing a stage: {missing}")
    return Burst(
        complaints=count,
        seconds_to_stage={s: max(first_at[s].values()) - began for s in STAGES},
        cpu_seconds=cpu,
    )


async def bench_ack_latency(
    kafka: KafkaSettings, grpc_port: int, rate: float, seconds: float
) -> tuple[list[float], int]:
    """Seconds from each gRPC submission to its acknowledgement, at a steady rate."""
    run = uuid.uuid4().hex[:8]
    batch = requests(int(rate * seconds), run)
    submitted: dict[bytes, float] = {}
    retries: list[str] = []
    began = time.time()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = intake_pb2_grpc.IntakeServiceStub(channel)

        async def submit(request: intake_pb2.SubmitComplaintRequest) -> None:
            """As a well-behaved upstream: UNAVAILABLE is retried after the hint (1 s), and
            the latency counts from the first attempt."""
            at = time.time()
            for _ in range(10):
                try:
                    response = await stub.SubmitComplaint(request, timeout=30)
                except grpc.aio.AioRpcError as error:
                    if error.code() != grpc.StatusCode.UNAVAILABLE:
                        raise
                    retries.append(request.source_reference)
                    await asyncio.sleep(1)
                else:
                    submitted[response.complaint_id.encode()] = at
                    return

        pending = []
        start = time.monotonic()
        for n, request in enumerate(batch):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            pending.append(asyncio.create_task(submit(request)))
        await asyncio.gather(*pending)
    acknowledged: dict[bytes, float] = {}
    async for key, kind, at in read_since(kafka, kafka.topic(COMPLAINT_EVENTS), began):
        if kind == "notification_sent" and key in submitted:
            acknowledged.setdefault(key, at)
            if len(acknowledged) >= len(submitted):
                break
    return sorted(acknowledged[k] - submitted[k] for k in acknowledged), len(retries)


async def run(options: argparse.Namespace) -> Report:
    """On topics of the run's own, deleted afterwards."""
    async with own_topics(KafkaSettings().bootstrap_servers, "bench") as kafka:
        return await _run(kafka, options)


async def _run(kafka: KafkaSettings, options: argparse.Namespace) -> Report:
    report = Report(complaints=options.complaints, runs=options.runs)
    controller, mailbox = start_mailbox(free_port())
    with tempfile.TemporaryDirectory(prefix="kintsugi-bench-") as scratch:
        config = StackConfig.on_free_ports(
            kafka.bootstrap_servers,
            kafka.topic_prefix,
            smtp_port=controller.port,
            sla_data_dir=Path(scratch) / "sla",
            log_level="WARNING",
            router_directory=write_roomy_directory(Path(scratch) / "directory.yaml"),
        )
        processes = await asyncio.to_thread(start_stack, config, Path(scratch) / "logs")
        try:
            await bench_burst(
                kafka, processes, min(500, options.complaints), mailbox_count(mailbox)
            )
            for n in range(options.runs):
                batch = requests(options.complaints, f"relay-{n}")
                records = [(r.source_reference.encode(), r.SerializeToString()) for r in batch]
                report.relay_rates.append(await bench_relay(kafka, records))
                report.bursts.append(
                    await bench_burst(kafka, processes, options.complaints, mailbox_count(mailbox))
                )
                print(
                    f"run {n + 1}: relay {report.relay_rates[-1]:,.0f}/s, "
                    f"kintsugi {report.bursts[-1].rate:,.0f}/s",
                    file=sys.stderr,
                )
            if options.rate > 0:
                report.ack_rate = options.rate
                report.ack_latencies_s, report.ack_retries = await bench_ack_latency(
                    kafka, config.grpc_port, options.rate, options.seconds
                )
        finally:
            for process in processes:
                await asyncio.to_thread(process.stop)
            controller.stop()
    return report


def mailbox_count(mailbox: object) -> Callable[[], int]:
    messages = mailbox.messages  # type: ignore[attr-defined]
    return lambda: len(messages)


def markdown(report: Report) -> str:
    median_burst = sorted(report.bursts, key=lambda b: b.rate)[len(report.bursts) // 2]
    relay = statistics.median(report.relay_rates)
    lines = [
        "## End-to-end throughput",
        "",
        *machine_lines(),
        f"- Workload: {report.complaints:,} complaints on the raw topic per run, "
        f"{report.runs} runs (median shown); one local broker, the four services",
        "",
        "| measure | value | baseline, same run | ratio |",
        "|---|---:|---:|---:|",
        f"| burst → all acknowledged | {median_burst.rate:,.0f} complaints/s "
        f"| bare one-hop relay: {relay:,.0f} msgs/s | {median_burst.rate / relay:.3f} |",
        "",
        "| stage | seconds until every complaint reached it (median run) |",
        "|---|---:|",
        *(f"| {s} | {median_burst.seconds_to_stage[s]:.1f} |" for s in STAGES),
        "",
        "| process | CPU seconds during the median burst | share of its wall time |",
        "|---|---:|---:|",
    ]
    wall = median_burst.seconds_to_stage["notification_sent"]
    for name, used in median_burst.cpu_seconds.items():
        lines.append(f"| {name} | {used:.1f} | {used / wall:.0%} |")
    lines.append(
        f"\nAll runs: {', '.join(f'{b.rate:,.0f}/s' for b in report.bursts)}; relay: "
        f"{', '.join(f'{r:,.0f}/s' for r in report.relay_rates)}"
    )
    if report.ack_latencies_s:
        values = report.ack_latencies_s
        lines += [
            "",
            f"Acknowledgement latency at {report.ack_rate:.0f} gRPC submissions/s "
            f"({len(values):,} complaints): p50 {percentile(values, 50) * 1000:,.0f} ms, "
            f"p99 {percentile(values, 99) * 1000:,.0f} ms, max {values[-1] * 1000:,.0f} ms; "
            f"{report.ack_retries} submissions retried after UNAVAILABLE",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200, help="gRPC submissions/s; 0 skips")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    report = asyncio.run(run(options))
    emit(markdown(report), asdict(report), options.json)


if __name__ == "__main__":
    main()
