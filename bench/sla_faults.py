"""The sla under faults: lateness at a steady rate through a two-worker kill run.

    .venv/bin/python -m bench.sla_faults [--rate 200] [--seconds 60] [--tick S] [--no-kill]
                                        [--json PATH] [--keep-logs DIR]

Against the broker at KAFKA_BOOTSTRAP_SERVERS (default 127.0.0.1:9092), on topics of its
own, two real sla workers (RocksDB store, one consumer group, one standby replica) run a
policy whose clock lasts two minutes: a warning at 25 % (30 s), the customer update due
one minute before the deadline (60 s), the breach at 120 s. ``classified`` events arrive
at a steady ``--rate`` per second for ``--seconds``; a third of the way in, worker w1 is
killed (SIGKILL) and started again a third later, so its partitions fail over to w0 and
some come back (``--no-kill``: a steady run, no fault). Read back from the events topic
once every clock has fallen due:

- lateness of every warning, customer-update-due and breach event: its Kafka record
  timestamp (set when the worker sent it) minus the instant it was due (``occurred_at``),
  p50/p99/max, for all of them and for those due outside the failover windows (from the
  kill, and from the restart, to the session timeout plus 30 s after each);
- per complaint and transition, distinct event ids: none missing, none fired twice
  (a repeat of the same id is a replay that consumers drop, counted apart);
- failovers: the kill and restart, the rebalances each worker went through (its
  ``/readyz`` turning unready, polled every 0.5 s), and how often the decision-10 rewind
  fired (``kintsugi_sla_partition_rewinds_total``, scraped from every worker process).

The lateness floor is the tick interval (``--tick``, by default the service's 0.25 s): a
transition due just after a tick waits for the next one.
Prints Markdown; ``--json PATH`` also writes the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import signal
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.machine import describe, emit, machine_lines, percentile
from kintsugi.common.codec import decode, encode, event_type, new_event
from kintsugi.common.kafka import make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.timeutil import from_timestamp, to_timestamp
from kintsugi.common.topics import COMPLAINT_EVENTS, COMPLAINT_PARTITIONS
from kintsugi.events.v1 import complaint_pb2 as pb
from services.sla.adapters.partitions import partition_of
from services.sla.config import SlaSettings
from services.sla.domain.policy import CALENDARS_FILE, DEFAULT_POLICY_DIRECTORY
from tools.devstack.events import TopicTail
from tools.devstack.processes import ServiceProcess, StackConfig, free_port, start_service
from tools.devstack.topics import own_topics

CLOCK_SECONDS = 120
TIMED = {
    "clock_warning": "warning",
    "customer_update_due": "customer_update_due",
    "clock_breached": "breach",
}
FAST_POLICY = f"""\
id: bench-fast
title: A clock that falls due in two minutes
regime: any
regulatory: false
clocks:
  - id: bench-2min
    kind: resolution
    title: Two minutes
    due: {{amount: {CLOCK_SECONDS // 60}, unit: minutes}}
    warnings: [25]
    customer_update_lead: {{amount: 1, unit: minutes}}
"""
SESSION_TIMEOUT_S = 15.0  # the sla's default: a killed worker's partitions move after it
# Due instants this long after a kill or a restart count as "during a failover": the
# session timeout, the rebalance, and the new owner's restore and index rebuild.
FAILOVER_WINDOW_S = SESSION_TIMEOUT_S + 30


@dataclasses.dataclass
class Worker:
    name: str
    config: StackConfig
    log_dir: Path
    process: ServiceProcess | None = None
    rewinds: dict[str, float] = dataclasses.field(default_factory=dict)
    past_rewinds: Counter[str] = dataclasses.field(default_factory=Counter)
    rebalances: int = 0
    was_ready: bool = False

    def start(self) -> None:
        self.past_rewinds.update(self.rewinds)  # counters restart with the process
        self.rewinds = {}
        self.process = start_service("sla", self.config, self.log_dir)

    def kill(self) -> None:
        assert self.process is not None
        self.process.process.send_signal(signal.SIGKILL)
        self.process.process.wait()

    def observe(self) -> None:
        """One poll: readiness (a ready -> unready turn is a rebalance) and the rewinds."""
        if self.process is None or self.process.process.poll() is not None:
            return
        ready = self.process.ready()
        if self.was_ready and not ready:
            self.rebalances += 1
        self.was_ready = ready
        try:
            url = f"http://127.0.0.1:{self.process.ops_port}/metrics"
            with urllib.request.urlopen(url, timeout=1) as response:
                text = response.read().decode()
        except (urllib.error.URLError, OSError):
            return
        for line in text.splitlines():
            if line.startswith("kintsugi_sla_partition_rewinds_total{"):
                outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
                self.rewinds[outcome] = float(line.rsplit(" ", 1)[1])

    def rewind_total(self, outcome: str) -> int:
        return int(self.past_rewinds[outcome] + self.rewinds.get(outcome, 0.0))


def _workers(kafka: KafkaSettings, base: Path, tick_s: float) -> list[Worker]:
    policies = base / "policies"
    policies.mkdir()
    shutil.copy(DEFAULT_POLICY_DIRECTORY / CALENDARS_FILE, policies / CALENDARS_FILE)
    (policies / "bench-fast.yaml").write_text(FAST_POLICY)
    shared = StackConfig.on_free_ports(
        kafka.bootstrap_servers,
        kafka.topic_prefix,
        smtp_port=0,
        log_level="WARNING",
        sla_policies_dir=policies,
    )
    workers = []
    for name in ("w0", "w1"):
        config = dataclasses.replace(
            shared,
            ops_ports={**shared.ops_ports, "sla": free_port()},
            sla_api_port=free_port(),
            sla_data_dir=base / name,
            service_settings={
                "sla": {"WORKER_NAME": name, "TICK_INTERVAL_S": str(tick_s)},
            },
        )
        workers.append(Worker(name, config, base / f"logs-{name}"))
    return workers


def _classified(complaint_id: str, at: datetime) -> Any:
    return encode(
        new_event(
            complaint_id=complaint_id,
            producer="bench",
            event_id=f"{complaint_id}-classified",
            occurred_at=at,
            recorded_at=at,
            payload=pb.ComplaintClassified(
                category="service",
                severity=pb.SEVERITY_MEDIUM,
                regime="none",
                jurisdiction="GB-ENG",
                channel=pb.CHANNEL_EMAIL,
                received_at=to_timestamp(at),
            ),
        )
    )


async def _steady_intake(
    kafka: KafkaSettings,
    run: str,
    rate: float,
    seconds: float,
    workers: list[Worker],
    kill: bool,
) -> dict[str, float]:
    """Publish at `rate` for `seconds`; with `kill`, kill w1 at a third and restart it at
    two thirds. Poll the workers meanwhile. The instants of the start, kill and restart."""
    producer = make_producer(kafka, "bench")
    await producer.start()
    topic = kafka.topic(COMPLAINT_EVENTS)
    started = time.time()
    marks: dict[str, float] = {"started_at": started}
    sent = 0
    try:
        while (elapsed := time.time() - started) < seconds:
            due = int(elapsed * rate)
            for n in range(sent, due):
                key, value, headers = _classified(f"{run}-{n:06d}", datetime.now(UTC))
                await producer.send(topic, value, key=key, headers=headers)
            sent = max(sent, due)
            if kill and "killed_at" not in marks and elapsed >= seconds / 3:
                await asyncio.to_thread(workers[1].kill)
                marks["killed_at"] = time.time()
            if kill and "restarted_at" not in marks and elapsed >= 2 * seconds / 3:
                workers[1].start()
                marks["restarted_at"] = time.time()
            for worker in workers:
                await asyncio.to_thread(worker.observe)
            await asyncio.sleep(0.05)
        await producer.flush()
    finally:
        await producer.stop()
    marks["complaints"] = sent
    return marks


async def _read_back(
    kafka: KafkaSettings, run: str, expected: int, workers: list[Worker], timeout_s: float
) -> dict[tuple[str, str], dict[str, tuple[float, float]]]:
    """Timed events by (complaint, transition): event id -> (due, sent), until every
    complaint's breach is in (or `timeout_s`)."""
    found: dict[tuple[str, str], dict[str, tuple[float, float]]] = defaultdict(dict)
    repeats = 0
    breached: set[str] = set()
    deadline = time.monotonic() + timeout_s
    async with TopicTail(kafka, kafka.topic(COMPLAINT_EVENTS)) as tail:
        while len(breached) < expected and time.monotonic() < deadline:
            async for record in tail.records(1.0):
                event = decode(record.value)
                kind = event_type(event)
                if kind == "clocks_started" and event.complaint_id.startswith(run):
                    found[event.complaint_id, kind][event.event_id] = (0.0, 0.0)
                if kind not in TIMED or not event.complaint_id.startswith(run):
                    continue
                due = from_timestamp(event.occurred_at).timestamp()
                seen = found[event.complaint_id, kind]
                if event.event_id in seen:
                    repeats += 1
                seen[event.event_id] = (due, record.timestamp / 1000)
                if kind == "clock_breached":
                    breached.add(event.complaint_id)
            for worker in workers:
                await asyncio.to_thread(worker.observe)
    found["", "repeats"] = {"": (float(repeats), 0.0)}
    return found


def _lateness(samples: Iterable[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "count": float(len(ordered)),
        "p50_s": percentile(ordered, 50),
        "p99_s": percentile(ordered, 99),
        "max_s": ordered[-1] if ordered else 0.0,
    }


def _copy_logs(base: Path, into: Path) -> None:
    for logs in base.glob("logs-*"):
        shutil.copytree(logs, into / logs.name, dirs_exist_ok=True)


async def run(options: argparse.Namespace) -> dict[str, Any]:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    base = Path(tempfile.mkdtemp(prefix="kintsugi-sla-faults-"))
    run_id = f"F{int(time.time())}"
    try:
        async with own_topics(bootstrap, "bench-sla-faults") as kafka:
            workers = _workers(kafka, base, options.tick)
            for worker in workers:
                worker.start()
            try:
                for worker in workers:
                    assert worker.process is not None
                    await asyncio.to_thread(worker.process.wait_ready, 120.0)
                marks = await _steady_intake(
                    kafka, run_id, options.rate, options.seconds, workers, options.kill
                )
                # Every clock is due by the last receipt + CLOCK_SECONDS; a minute's grace.
                last_due = marks["started_at"] + options.seconds + CLOCK_SECONDS
                found = await _read_back(
                    kafka, run_id, int(marks["complaints"]), workers, last_due + 60 - time.time()
                )
            finally:
                for worker in workers:
                    if worker.process is not None:
                        worker.process.stop()
    finally:
        if options.keep_logs is not None:
            _copy_logs(base, options.keep_logs)
        shutil.rmtree(base, ignore_errors=True)

    repeats = int(found.pop(("", "repeats"))[""][0])
    windows = [
        (marks[mark], marks[mark] + FAILOVER_WINDOW_S)
        for mark in ("killed_at", "restarted_at")
        if mark in marks
    ]

    def in_failover(due: float) -> bool:
        return any(start <= due < end for start, end in windows)

    lateness: dict[str, dict[str, dict[str, float]]] = {}
    for kind, label in TIMED.items():
        fired = [first for (_, k), ids in found.items() if k == kind for first in ids.values()]
        late = [sent - due for due, sent in fired]
        steady = [sent - due for due, sent in fired if not in_failover(due)]
        lateness[label] = {"all": _lateness(late), "outside_failover": _lateness(steady)}
    complaints = int(marks["complaints"])
    missed = [
        f"{run_id}-{n:06d}"
        for n in range(complaints)
        if not found.get((f"{run_id}-{n:06d}", "clock_breached"))
    ]
    missed_detail = {
        "with_clocks_started": sum(1 for c in missed if found.get((c, "clocks_started"))),
        "partitions": dict(Counter(partition_of(c.encode(), COMPLAINT_PARTITIONS) for c in missed)),
        "sent_after_s": sorted({round(int(c.rsplit("-", 1)[1]) / options.rate) for c in missed}),
    }
    per_transition = {
        label: Counter(len(found.get((f"{run_id}-{n:06d}", kind), {})) for n in range(complaints))
        for kind, label in TIMED.items()
    }
    return {
        "machine": describe(),
        "rate_per_s": options.rate,
        "seconds": options.seconds,
        "tick_s": options.tick,
        "complaints": complaints,
        "kill": options.kill,
        "killed_after_s": marks.get("killed_at", 0.0) - marks["started_at"],
        "restarted_after_s": marks.get("restarted_at", 0.0) - marks["started_at"],
        "missed_detail": missed_detail,
        "lateness": lateness,
        "missed": {label: counts.get(0, 0) for label, counts in per_transition.items()},
        "fired_twice": {
            label: sum(n for ids, n in counts.items() if ids > 1)
            for label, counts in per_transition.items()
        },
        "repeated_ids": repeats,
        "kills": int("killed_at" in marks),
        "restarts": int("restarted_at" in marks),
        "rebalances_seen": {w.name: w.rebalances for w in workers},
        "rewinds": sum(w.rewind_total("rewound") for w in workers),
        "stalled_again": sum(w.rewind_total("stalled_again") for w in workers),
    }


def markdown(r: dict[str, Any]) -> str:
    lines = [
        "# sla: lateness at a steady rate"
        + (", through a two-worker kill run" if r["kill"] else ", no fault (baseline)"),
        "",
        *machine_lines(),
        f"- {r['complaints']:,} complaints at {r['rate_per_s']:.0f}/s for {r['seconds']:.0f} s "
        f"on two workers (RocksDB, one standby); tick every {r['tick_s']} s; clocks due "
        f"{CLOCK_SECONDS} s after receipt (warning at 30 s, customer update at 60 s)",
        (
            f"- Faults: w1 killed (SIGKILL) after {r['killed_after_s']:.0f} s, restarted "
            f"after {r['restarted_after_s']:.0f} s"
            if r["kill"]
            else "- Faults: none (steady run)"
        )
        + f"; rebalances seen by each worker: {r['rebalances_seen']}; decision-10 rewinds: "
        f"{r['rewinds']} (stalled again after a rewind: {r['stalled_again']})",
        "",
        "| event | count | p50 | p99 | max | p99 outside the failover window |",
        "|---|---|---|---|---|---|",
    ]
    for label, figures in r["lateness"].items():
        every, steady = figures["all"], figures["outside_failover"]
        lines.append(
            f"| {label} | {every['count']:,.0f} | {every['p50_s'] * 1e3:.0f} ms | "
            f"{every['p99_s'] * 1e3:.0f} ms | {every['max_s']:.1f} s | "
            f"{steady['p99_s'] * 1e3:.0f} ms ({steady['count']:,.0f} events) |"
        )
    lines += [
        "",
        f"- Missed (no event): {r['missed']}; fired twice (two distinct ids for one "
        f"transition): {r['fired_twice']}; the same id published again (a replay, dropped "
        f"by consumers): {r['repeated_ids']}",
        f"- Complaints with no breach: {r['missed_detail']}",
        f"- The failover windows: from the kill and from the restart to {FAILOVER_WINDOW_S:.0f} "
        "s after each (the session timeout, the rebalance, the new owner's restore).",
    ]
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="complaints per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long intake lasts")
    parser.add_argument(
        "--tick",
        type=float,
        default=SlaSettings.model_fields["tick_interval_s"].default,
        help="the sla's tick interval (s; default: the service's)",
    )
    parser.add_argument(
        "--kill",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="kill w1 a third of the way in and restart it at two thirds (--no-kill: steady)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--keep-logs", type=Path, help="copy the workers' logs here (why a rewind fired)"
    )
    options = parser.parse_args(list(argv) if argv is not None else None)
    result = asyncio.run(run(options))
    emit(markdown(result), result, options.json)


if __name__ == "__main__":
    main()
