"""Two real sla workers (RocksDB store) on the session's topics: any worker explains any
complaint, and a redelivered update resets a cadence once. One worker alone: restarted
after SIGKILL it keeps its clocks, and as a static member it commits all it handled."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from kintsugi.common.codec import decode, encode, event_type
from kintsugi.common.kafka import make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.progress import GroupProgressProbe
from kintsugi.common.topics import COMPLAINT_EVENTS
from tests.unit.sla.keeper_support import classified, progress_update
from tools.devstack.processes import free_port


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except OSError:
        return 0, {}


def _start_worker(
    settings: KafkaSettings,
    tmp_path: Path,
    name: str,
    port: int,
    app: str,
    ops_port: int = 0,
    static: bool = False,
) -> subprocess.Popen[bytes]:
    """A worker serving GET /clocks on `port` (its public API), ops on `ops_port`; with
    `static`, a static group member under its name."""
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "KINTSUGI_TOPIC_PREFIX": settings.topic_prefix,
        "KINTSUGI_SLA_APP_ID": f"{settings.topic_prefix}{app}",
        "KINTSUGI_SLA_DATA_DIR": str(tmp_path / name),
        "KINTSUGI_SLA_OPS_HOST": "127.0.0.1",
        "KINTSUGI_SLA_OPS_PORT": str(ops_port or free_port()),
        "KINTSUGI_SLA_API_HOST": "127.0.0.1",
        "KINTSUGI_SLA_API_PORT": str(port),
        "KINTSUGI_SLA_WORKER_NAME": name,
        "KINTSUGI_SLA_LOG_LEVEL": "WARNING",
        "KINTSUGI_SLA_STATIC_MEMBERSHIP": str(static).lower(),
    }
    log = (tmp_path / f"{name}.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "services.sla"], env=env, stdout=log, stderr=log)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def workers(kafka_settings: KafkaSettings, tmp_path: Path) -> Iterator[dict[str, int]]:
    ports = {"w0": free_port(), "w1": free_port()}
    processes = [
        _start_worker(kafka_settings, tmp_path, name, port, "kintsugi-sla-workers")
        for name, port in ports.items()
    ]
    try:
        yield ports
    finally:
        _stop(processes)


async def _publish(settings: KafkaSettings, *events: Any) -> None:
    producer = make_producer(settings, "test")
    await producer.start()
    try:
        for event in events:
            key, value, headers = encode(event)
            topic = settings.topic(COMPLAINT_EVENTS)
            await (await producer.send(topic, value, key=key, headers=headers))
    finally:
        await producer.stop()


async def _answered(port: int, complaint: str, timeout_s: float = 90) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        url = f"http://127.0.0.1:{port}/clocks/{complaint}"
        status, body = await asyncio.to_thread(_get, url)
        if status == 200:
            return body
        assert asyncio.get_running_loop().time() < deadline, f"{complaint}: {status} {body}"
        await asyncio.sleep(0.5)


async def test_a_killed_worker_restarts_from_its_local_state_without_restarting_clocks(
    kafka_settings: KafkaSettings, tmp_path: Path, unique: str
) -> None:
    port, ops_port = free_port(), free_port()
    complaint = f"{unique}-kill"
    worker = _start_worker(kafka_settings, tmp_path, "w0", port, "kintsugi-sla-kill", ops_port)
    try:
        await _publish(kafka_settings, classified(complaint, datetime.now(UTC)))
        before = await _answered(port, complaint)
        # The ops port is not the public API: it does not serve /clocks.
        url = f"http://127.0.0.1:{ops_port}/clocks/{complaint}"
        with pytest.raises(urllib.error.HTTPError) as not_here:
            await asyncio.to_thread(urllib.request.urlopen, url, None, 5)
        assert not_here.value.code == 404
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        assert any((tmp_path / "w0").rglob("CURRENT"))  # RocksDB files survived the kill

        worker = _start_worker(kafka_settings, tmp_path, "w0", port, "kintsugi-sla-kill")
        after = await _answered(port, complaint)
    finally:
        _stop([worker])

    assert [c["due_at"] for c in after["clocks"]] == [c["due_at"] for c in before["clocks"]]
    started = await _events_of(kafka_settings, complaint, "clocks_started")
    assert len({e.event_id for e in started}) == 1


async def _all_committed(settings: KafkaSettings, group: str, timeout_s: float = 90) -> None:
    """Wait until the group has committed every record on the events topic."""
    probe = GroupProgressProbe(settings, group, settings.topic(COMPLAINT_EVENTS))
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        committed, ends = await probe.read()
        if all(committed.get(partition, 0) == end for partition, end in ends.items()):
            return
        assert asyncio.get_running_loop().time() < deadline, f"{committed} of {ends}"
        await asyncio.sleep(0.5)


async def test_a_static_worker_commits_every_record_it_handled_before_and_after_a_kill(
    isolated_kafka: KafkaSettings, tmp_path: Path, unique: str
) -> None:
    # Commits start from offset 0 (which Faust keeps as "unknown") and resume after the
    # worker is killed and takes its partitions back under its name: the commit guard
    # must know each partition's committed offset, or nothing would be committed again.
    port = free_port()
    group = f"{isolated_kafka.topic_prefix}kintsugi-sla-commits"
    start = functools.partial(
        _start_worker, isolated_kafka, tmp_path, "w0", port, "kintsugi-sla-commits", static=True
    )
    worker = start()
    try:
        await _publish(isolated_kafka, classified(f"{unique}-a", datetime.now(UTC)))
        await _answered(port, f"{unique}-a")
        await _all_committed(isolated_kafka, group)

        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        worker = start()
        await _publish(isolated_kafka, classified(f"{unique}-b", datetime.now(UTC)))
        await _answered(port, f"{unique}-b")
        await _all_committed(isolated_kafka, group)
    finally:
        _stop([worker])


async def test_any_worker_explains_and_a_redelivered_update_resets_once(
    kafka_settings: KafkaSettings, workers: dict[str, int], unique: str
) -> None:
    received = datetime.now(UTC) - timedelta(hours=1)
    complaints = [f"{unique}-{n}" for n in range(6)]
    update = progress_update(complaints[0], f"{unique}-update", received + timedelta(minutes=5))
    await _publish(kafka_settings, *(classified(c, received) for c in complaints), update, update)

    # Ownership may move while the second worker joins; once it settles, both workers give
    # the owner's answer for every complaint, the non-owner relaying it.
    deadline = asyncio.get_running_loop().time() + 120
    while not await _settled(workers, complaints):
        assert asyncio.get_running_loop().time() < deadline, "answers never settled"
        await asyncio.sleep(1)

    # A rebalance may repeat a published batch: the same event id again, which every reader
    # drops (decision 2). What must not happen is a second reset with a new id or cycle.
    resets = await _events_of(kafka_settings, complaints[0], "clock_reset")
    distinct = {
        r.event_id: (r.clock_reset.clock.clock_id, r.clock_reset.clock.cycle) for r in resets
    }
    assert list(distinct.values()) == [("int-progress-medium", 1)]


async def _settled(workers: dict[str, int], complaints: list[str]) -> bool:
    for complaint in complaints:
        answers = {}
        for worker, port in workers.items():
            url = f"http://127.0.0.1:{port}/clocks/{complaint}"
            status, body = await asyncio.to_thread(_get, url)
            if status != 200:
                return False
            answers[worker] = body
        owner = answers["w0"]["answered_by"]
        other = "w1" if owner == "w0" else "w0"
        if answers[other]["answered_by"] != owner or answers[other].get("forwarded_by") != other:
            return False
    return True


async def _events_of(settings: KafkaSettings, complaint_id: str, kind: str) -> list[Any]:
    consumer = AIOKafkaConsumer(
        settings.topic(COMPLAINT_EVENTS),
        **settings.client_options(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        found: list[Any] = []
        idle = 0
        while idle < 3:
            batch = await consumer.getmany(timeout_ms=1000)
            idle = 0 if batch else idle + 1
            for records in batch.values():
                for record in records:
                    if record.key == complaint_id.encode():
                        event = decode(record.value)
                        if event_type(event) == kind:
                            found.append(event)
        return found
    finally:
        await consumer.stop()
