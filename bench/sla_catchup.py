"""A real sla worker catching up: a new pod with no local state, against a restart.

    .venv/bin/python -m bench.sla_catchup [--complaints N] [--templates N] [--json PATH]

Against the broker at KAFKA_BOOTSTRAP_SERVERS (default 127.0.0.1:9092), on topics of its
own, the sla's changelog is filled with N open complaints (default 1,000,000; the
default policies' clocks, receipts spread over the past 30 days and ticked up to now, as
``bench/sla_scale.py`` builds them: ``--templates`` built through the domain, the rest
copies under their own ids), written to the partitions Faust's partitioner would pick.
Then one real sla worker process (RocksDB store, the shipped policies) is started,
stopped and started again, and each start is timed from the process launch to:

- ready: ``/readyz`` answers 200 (Faust's recovery is complete and no rebalance is on);
- indexed: the keeper's due-time index and risk summaries are rebuilt for every owned
  partition (its ``due_index_rebuilt`` log line), after which the tick fires what falls
  due.

The starts, in order: on an empty changelog (Faust's own start-up, the baseline); a new
pod (the data folder deleted, so every record is restored from the changelog into
RocksDB); a restart after SIGTERM (local state, nothing to restore); a restart after
SIGKILL (local state, written without a clean close). The index's size is checked
against the clocks the complaints hold, and the worker's peak RSS and RocksDB's size on
disk are reported.
Prints Markdown; ``--json PATH`` also writes the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.machine import describe, emit, machine_lines
from bench.sla_runtime import _states
from bench.sla_scale import _complaints, _disk_bytes
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.topics import COMPLAINT_PARTITIONS, sla_faust_topics
from services.sla.adapters.partitions import partition_of
from services.sla.adapters.stored import summary_of
from services.sla.adapters.topic_check import create_if_missing
from services.sla.domain import PolicySet
from tools.devstack.processes import ServiceProcess, StackConfig, start_service
from tools.devstack.topics import own_topics

INDEX_REBUILT = "due_index_rebuilt"


def _expected_index(count: int, templates: dict[bytes, bytes]) -> int:
    """How many of `count` complaints (`_complaints`' copies) have a transition to come."""
    pending = [
        (summary := summary_of(state)) is not None and summary.wakeup is not None
        for state in templates.values()
    ]
    return sum(pending[n % len(pending)] for n in range(count))


async def _fill_changelog(
    kafka: KafkaSettings, topic: str, count: int, templates: dict[bytes, bytes]
) -> float:
    """Every complaint's state into the changelog, as the workers would have written it."""
    producer = AIOKafkaProducer(
        **kafka.client_options(), linger_ms=50, max_batch_size=1 << 20, acks=1
    )
    await producer.start()
    started = time.perf_counter()
    try:
        for key, state in _complaints(count, templates):
            await producer.send(
                topic, state, key=key, partition=partition_of(key, COMPLAINT_PARTITIONS)
            )
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - started


def _peak_rss_mb(process: ServiceProcess) -> float:
    for line in Path(f"/proc/{process.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _index_rebuilt(log_path: Path, from_line: int) -> tuple[float, int] | None:
    """When this start's keeper rebuilt its index (epoch s) and how many clocks it holds."""
    lines = log_path.read_text(errors="replace").splitlines()[from_line:]
    for line in lines:
        if INDEX_REBUILT not in line:
            continue
        record = json.loads(line)
        at = dt.datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
        return at.timestamp(), int(record["clocks_due_later"])
    return None


async def _timed_start(
    config: StackConfig, logs: Path, expect_clocks: bool, timeout_s: float
) -> tuple[ServiceProcess, dict[str, float]]:
    """Start the worker; seconds from launch to ready and to the rebuilt index."""
    log_path = logs / "sla.log"
    lines_before = len(log_path.read_text().splitlines()) if log_path.exists() else 0
    launched = time.time()
    process = start_service("sla", config, logs)
    ready_at = indexed = None
    deadline = time.monotonic() + timeout_s
    while indexed is None and time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise RuntimeError(f"the sla worker exited:\n{process.log_tail()}")
        if ready_at is None and await asyncio.to_thread(process.ready):
            ready_at = time.time()
        found = _index_rebuilt(log_path, lines_before)
        if ready_at is not None and (found is not None or not expect_clocks):
            indexed = found or (ready_at, 0)
        await asyncio.sleep(0.2)
    if ready_at is None or indexed is None:
        process.stop()
        raise TimeoutError(f"the sla worker not ready in {timeout_s} s:\n{process.log_tail()}")
    return process, {
        "ready_s": ready_at - launched,
        "indexed_s": max(indexed[0], ready_at) - launched,
        "clocks_indexed": float(indexed[1]),
        "peak_rss_mb": _peak_rss_mb(process),
    }


async def run(count: int, template_count: int, seed: int, timeout_s: float) -> dict[str, Any]:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    policies = PolicySet.default()
    started = time.perf_counter()
    # Ticked up to now: the worker runs on the wall clock, and a state a day behind it
    # would fire its overdue transitions during the measurement.
    templates = _states(min(template_count, count), policies, seed, dt.datetime.now(dt.UTC))
    build_s = time.perf_counter() - started
    expected = _expected_index(count, templates)
    base = Path(tempfile.mkdtemp(prefix="kintsugi-sla-catchup-"))
    data_dir = base / "sla"
    starts: dict[str, dict[str, float]] = {}
    try:
        async with own_topics(bootstrap, "bench-sla-catchup") as kafka:
            config = StackConfig.on_free_ports(
                kafka.bootstrap_servers, kafka.topic_prefix, smtp_port=0, sla_data_dir=data_dir
            )
            changelog = sla_faust_topics(config.env("sla")["KINTSUGI_SLA_APP_ID"])
            await create_if_missing(kafka, changelog)
            logs = base / "logs"

            worker, starts["empty_changelog"] = await _timed_start(config, logs, False, timeout_s)
            worker.stop()
            fill_s = await _fill_changelog(kafka, changelog[0].name, count, templates)

            shutil.rmtree(data_dir)  # a new pod: no volume yet
            worker, starts["new_pod"] = await _timed_start(config, logs, True, timeout_s)
            disk_bytes = _disk_bytes(data_dir)
            worker.stop()
            worker, starts["restart_after_sigterm"] = await _timed_start(
                config, logs, True, timeout_s
            )
            worker.process.kill()
            worker.process.wait()
            worker, starts["restart_after_sigkill"] = await _timed_start(
                config, logs, True, timeout_s
            )
            worker.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return {
        "machine": describe(),
        "complaints": count,
        "distinct_templates": len(templates),
        "build_templates_s": build_s,
        "expected_clocks_indexed": expected,
        "changelog_fill_s": fill_s,
        "rocksdb_disk_bytes_per_complaint": disk_bytes / count,
        "starts": starts,
    }


START_LABELS = {
    "empty_changelog": "empty changelog (baseline: Faust's own start-up)",
    "new_pod": "new pod: no local state, the whole changelog restored",
    "restart_after_sigterm": "restart after SIGTERM: local state",
    "restart_after_sigkill": "restart after SIGKILL: local state, no clean close",
}


def markdown(r: dict[str, Any]) -> str:
    n = r["complaints"]
    baseline = r["starts"]["empty_changelog"]["indexed_s"]
    restore_s = max(
        r["starts"]["new_pod"]["ready_s"] - r["starts"]["empty_changelog"]["ready_s"], 1e-3
    )
    wrong = [
        key
        for key in START_LABELS
        if key != "empty_changelog"
        and r["starts"][key]["clocks_indexed"] != r["expected_clocks_indexed"]
    ]
    verdict = (
        f"FAIL: the index is not the changelog's after {', '.join(wrong)}"
        if wrong
        else "every start after the fill indexed every open clock"
    )
    lines = [
        "# sla: a worker catching up, a new pod against a restart",
        "",
        *machine_lines(),
        f"- One sla worker (RocksDB store, shipped policies), {COMPLAINT_PARTITIONS} "
        f"partitions; a changelog of {n:,} open complaints ({r['distinct_templates']:,} "
        f"built through the domain, the rest copies under their own ids), written in "
        f"{r['changelog_fill_s']:.0f} s ({n / r['changelog_fill_s']:,.0f} records/s)",
        f"- RocksDB on disk after the restore: {r['rocksdb_disk_bytes_per_complaint']:,.0f} "
        "B per complaint",
        "",
        "| start | to ready | to index rebuilt | clocks indexed | ratio to baseline | peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    for key, label in START_LABELS.items():
        s = r["starts"][key]
        lines.append(
            f"| {label} | {s['ready_s']:.1f} s | {s['indexed_s']:.1f} s | "
            f"{s['clocks_indexed']:,.0f} | {s['indexed_s'] / baseline:.1f}x | "
            f"{s['peak_rss_mb']:,.0f} MB |"
        )
    lines += [
        "",
        f"- Clocks with a transition to come in the changelog: "
        f"{r['expected_clocks_indexed']:,}; each start after the fill must index exactly "
        "that many.",
        f"- New pod: {n / restore_s:,.0f} complaints restored per second beyond the "
        f"baseline's start-up ({restore_s:.1f} s more to ready).",
        f"- Verdict: {verdict}",
    ]
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument(
        "--templates", type=int, default=20_000, help="complaints built through the domain"
    )
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds each start may take")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args(list(argv) if argv is not None else None)
    result = asyncio.run(run(options.complaints, options.templates, options.seed, options.timeout))
    emit(markdown(result), result, options.json)


if __name__ == "__main__":
    main()
