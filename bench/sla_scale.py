"""The sla's clocks at scale: memory per open complaint, restart from RocksDB, index rebuild.

    .venv/bin/python -m bench.sla_scale [--complaints N] [--templates N] [--json PATH]

Holds N open complaints (default 100,000; the default policies' clocks, receipts spread
over the past 30 days, as in ``bench/sla_runtime.py``). Building a state through the
domain costs about half a millisecond, so ``--templates`` distinct complaints are built
and the rest are copies with their own id written into the state (same length, same
clocks), which keeps a million within minutes. Measures, in one run:

1. Restart from local state: N states written to RocksDB the way Faust's ``rocksdb://``
   store keeps them (one database per partition, Faust's own options), closed, then
   reopened and the keeper's due-time index and risk summaries rebuilt (``assign``). The
   same-run baseline is the memory store's cost to apply the same records into a dict,
   which is only the local part of a full changelog replay (the Kafka read, measured at
   ~6,000 records/s through Faust in issue 10, comes on top); with ``--kafka`` the full
   changelog is also written to a fresh topic on that broker and read back into a dict.
2. Memory per open complaint: the RSS growth of a restart over RocksDB (the keeper's due
   index and risk summaries plus RocksDB's own memory; the states stay on disk), the
   keeper's structures alone (tracemalloc), and a memory store table (the states in a
   dict, Python object sizes), against the serialised size of a state.
3. The rebuild's cost per complaint, split into reading the table and reading each
   value's wake-up summary line (``services/sla/adapters/stored.py``), against decoding
   each whole state for its wake-up and open deadlines (what the rebuild did before).
Not included: Faust's own start-up and rebalance (~4.5 s with an empty table in issue 10)
and reading the changelog's tail written after the last local flush.
Prints Markdown; with --json also writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faust.stores.rocksdb import RocksDBOptions

from bench.machine import describe, emit, machine_lines
from bench.sla_runtime import NOW, PARTITIONS, _keeper, _states
from services.sla.adapters.partitions import partition_of
from services.sla.adapters.stored import state_of, summary_of
from services.sla.domain import PolicySet
from services.sla.service import SlaService


def _rss_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _settled_rss() -> int:
    gc.collect()
    return _rss_bytes()


def _complaints(count: int, templates: dict[bytes, bytes]) -> Iterator[tuple[bytes, bytes]]:
    """`count` (key, state) pairs: the templates, then copies under new ids."""
    originals = list(templates.items())
    for n in range(count):
        template_key, template_state = originals[n % len(originals)]
        key = f"B-{n:07d}".encode()
        yield key, template_state.replace(template_key, key, 1)


class _RocksTable:
    """The clock table over one RocksDB database per partition, as Faust's store lays it out."""

    def __init__(self, dbs: dict[int, Any]) -> None:
        self._dbs = dbs

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._dbs[partition_of(key, PARTITIONS)].get(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._dbs[partition_of(key, PARTITIONS)][key] = value

    def items(self) -> Iterable[tuple[bytes, bytes]]:
        for db in self._dbs.values():
            yield from db.items()


def _open_all(directory: Path) -> dict[int, Any]:
    options = RocksDBOptions()
    return {p: options.open(directory / f"sla-clocks-{p}.db") for p in range(PARTITIONS)}


async def _changelog_replay(
    count: int, templates: dict[bytes, bytes], bootstrap: str
) -> dict[str, float]:
    """Write the states to a fresh compacted topic, then read all of it back into a dict
    from the beginning: what a memory store's restore does, without Faust's own per-record
    work (so a lower bound on its cost). The topic is deleted afterwards."""
    topic = f"kintsugi-bench-sla-scale-{uuid.uuid4().hex[:12]}-changelog"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, PARTITIONS, 1, topic_configs={"cleanup.policy": "compact"})]
        )
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
        await producer.start()
        started = time.perf_counter()
        try:
            for key, state in _complaints(count, templates):
                await producer.send(topic, state, key=key)
            await producer.flush()
        finally:
            await producer.stop()
        produce_s = time.perf_counter() - started

        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            restored: dict[bytes, bytes] = {}
            started = time.perf_counter()
            remaining = {tp for tp in partitions if ends[tp] > 0}
            while remaining:
                fetched = await consumer.getmany(timeout_ms=1000, max_records=10_000)
                for tp, records in fetched.items():
                    for record in records:
                        restored[record.key] = record.value
                    if records and records[-1].offset + 1 >= ends[tp]:
                        remaining.discard(tp)
            replay_s = time.perf_counter() - started
        finally:
            await consumer.stop()
    finally:
        with contextlib.suppress(Exception):
            await admin.delete_topics([topic])
        await admin.close()
    return {
        "changelog_produce_s": produce_s,
        "changelog_replay_s": replay_s,
        "changelog_replay_records": float(len(restored)),
    }


def _disk_bytes(directory: Path) -> int:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())


def _close_all(dbs: dict[int, Any]) -> None:
    for db in dbs.values():
        db.close()
    dbs.clear()


async def run(
    count: int, template_count: int, seed: int, kafka: str | None = None
) -> dict[str, Any]:
    policies = PolicySet.default()
    service = SlaService(policies)
    started = time.perf_counter()
    templates = _states(min(template_count, count), policies, seed)
    templates_s = time.perf_counter() - started
    serialised = sum(len(k) + len(v) for k, v in _complaints(count, templates))

    directory = Path(tempfile.mkdtemp(prefix="kintsugi-sla-scale-"))
    try:
        # --- 1. RocksDB: write, close, reopen and rebuild (the restart) ---------------------
        dbs = _open_all(directory)
        started = time.perf_counter()
        for key, state in _complaints(count, templates):
            dbs[partition_of(key, PARTITIONS)][key] = state
        write_s = time.perf_counter() - started
        _close_all(dbs)
        disk_bytes = _disk_bytes(directory)

        rss_before_rocks = _settled_rss()
        started = time.perf_counter()
        dbs = _open_all(directory)
        open_s = time.perf_counter() - started
        keeper, _ = _keeper(_RocksTable(dbs), service, lambda: NOW)  # type: ignore[arg-type]
        started = time.perf_counter()
        await keeper.assign(range(PARTITIONS))
        rocks_rebuild_s = time.perf_counter() - started
        rss_rocks_keeper = _settled_rss() - rss_before_rocks
        open_in_index = keeper.open_clocks

        # The rebuild's parts: reading the table, and decoding each state.
        table = _RocksTable(dbs)
        started = time.perf_counter()
        held = sum(1 for _ in table.items())
        rocks_scan_s = time.perf_counter() - started
        del keeper
        _close_all(dbs)
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    # --- 2. memory store: the states in a dict (what Faust's memory store holds) ------------
    started = time.perf_counter()
    memory_table = dict(_complaints(count, templates))
    dict_apply_s = time.perf_counter() - started
    # Python's own object sizes: exact, and not confused by memory freed above and reused.
    dict_bytes = sys.getsizeof(memory_table) + sum(
        sys.getsizeof(k) + sys.getsizeof(v) for k, v in memory_table.items()
    )

    started = time.perf_counter()
    for value in memory_table.values():
        service.watch_points(state_of(value) or b"")
    decode_s = time.perf_counter() - started
    started = time.perf_counter()
    for value in memory_table.values():
        summary_of(value)
    summary_s = time.perf_counter() - started

    # The keeper's own structures (due index + risk summaries), traced (not timed: tracing
    # slows allocation).
    gc.collect()
    tracemalloc.start()
    traced_before = tracemalloc.get_traced_memory()[0]
    keeper, _ = _keeper(memory_table, service, lambda: NOW)
    await keeper.assign(range(PARTITIONS))
    gc.collect()
    keeper_bytes = tracemalloc.get_traced_memory()[0] - traced_before
    tracemalloc.stop()

    replay = await _changelog_replay(count, templates, kafka) if kafka else {}
    return {
        **replay,
        "machine": describe(),
        "open_complaints": count,
        "distinct_templates": len(templates),
        "build_templates_s": templates_s,
        "open_in_index": open_in_index,
        "serialised_bytes_per_complaint": serialised / count,
        "rocksdb_write_s": write_s,
        "rocksdb_disk_bytes_per_complaint": disk_bytes / count,
        "rocksdb_reopen_s": open_s,
        "rocksdb_rebuild_s": rocks_rebuild_s,
        "restart_ready_s": open_s + rocks_rebuild_s,
        "rocksdb_scan_only_s": rocks_scan_s,
        "rocksdb_keys_scanned": held,
        "decode_only_s": decode_s,
        "rebuild_per_complaint_us": rocks_rebuild_s / count * 1e6,
        "decode_per_complaint_us": decode_s / count * 1e6,
        "summary_only_s": summary_s,
        "summary_per_complaint_us": summary_s / count * 1e6,
        "scan_per_complaint_us": rocks_scan_s / count * 1e6,
        "memory_store_apply_s": dict_apply_s,
        "rss_keeper_over_rocksdb_bytes_per_complaint": rss_rocks_keeper / count,
        "keeper_traced_bytes_per_complaint": keeper_bytes / count,
        "memory_store_table_bytes_per_complaint": dict_bytes / count,
        "rss_process_end_mb": _rss_bytes() / 2**20,
        "full_replay_at_6000_per_s_s": count / 6000,
    }


def markdown(r: dict[str, Any]) -> str:
    n = r["open_complaints"]
    keeper_rocks = r["rss_keeper_over_rocksdb_bytes_per_complaint"]
    keeper_traced = r["keeper_traced_bytes_per_complaint"]
    table_dict = r["memory_store_table_bytes_per_complaint"]
    serialised = r["serialised_bytes_per_complaint"]
    lines = [
        "# sla at scale: memory per open complaint, restart from RocksDB, index rebuild",
        "",
        *machine_lines(),
        f"- Open complaints: {n:,} ({r['open_in_index']:,} with a transition to come; "
        f"{r['distinct_templates']:,} built through the domain, the rest copies under "
        "their own ids)",
        f"- {PARTITIONS} partitions, RocksDB with Faust's default options, one database "
        "per partition",
        "",
        "| measure | value | baseline (same run) |",
        "|---|---|---|",
        f"| restart: reopen RocksDB + rebuild due index and risk summaries | "
        f"{r['restart_ready_s']:.2f} s (open {r['rocksdb_reopen_s'] * 1e3:.0f} ms, "
        f"rebuild {r['rocksdb_rebuild_s']:.2f} s) | memory store, applying the same "
        f"records to a dict: {r['memory_store_apply_s']:.2f} s, plus the Kafka read "
        f"(~6,000 records/s in issue 10: {r['full_replay_at_6000_per_s_s']:.0f} s) |",
        *(
            [
                f"| full changelog replay from Kafka into a dict (aiokafka, no Faust) | "
                f"{r['changelog_replay_s']:.2f} s "
                f"({r['changelog_replay_records'] / r['changelog_replay_s']:,.0f} records/s) "
                f"| with the same index rebuild after it, a memory store's restart at "
                f"best: {r['changelog_replay_s'] + r['rocksdb_rebuild_s']:.2f} s |"
            ]
            if "changelog_replay_s" in r
            else []
        ),
        f"| rebuild per complaint | {r['rebuild_per_complaint_us']:.1f} µs | reading "
        f"RocksDB alone {r['scan_per_complaint_us']:.1f} µs; reading the wake-up summary "
        f"line (what the rebuild does) {r['summary_per_complaint_us']:.1f} µs; decoding "
        f"the whole state instead {r['decode_per_complaint_us']:.1f} µs |",
        f"| RSS growth per complaint on restart, RocksDB table (keeper + RocksDB's "
        f"own memory) | {keeper_rocks:,.0f} B | serialised state {serialised:,.0f} B; on "
        f"disk {r['rocksdb_disk_bytes_per_complaint']:,.0f} B |",
        f"| the keeper's due index + risk summaries per complaint (traced) | "
        f"{keeper_traced:,.0f} B | |",
        f"| memory store: the states in a dict per complaint (object sizes) | "
        f"{table_dict:,.0f} B, so {table_dict + keeper_traced:,.0f} B with the keeper | "
        f"serialised state {serialised:,.0f} B |",
        f"| process RSS at the end | {r['rss_process_end_mb']:,.0f} MB | |",
    ]
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument(
        "--templates", type=int, default=20_000, help="complaints built through the domain"
    )
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument(
        "--kafka",
        metavar="BOOTSTRAP",
        help="also time a full changelog read from this broker (a fresh topic, deleted after)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args(list(argv) if argv is not None else None)
    # The keeper's info logs would land in the middle of the report.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    result = asyncio.run(run(options.complaints, options.templates, options.seed, options.kafka))
    emit(markdown(result), result, options.json)


if __name__ == "__main__":
    main()
