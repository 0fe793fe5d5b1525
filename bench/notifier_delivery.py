"""Benchmark of email delivery: the notifier's path beside a bare aiosmtplib loop.

    .venv/bin/python -m bench.notifier_delivery [--quick] [--messages N] [--json PATH]

Both sides send into the same local SMTP sink, run in a separate process (Postfix's
``smtp-sink`` when installed, else aiosmtpd's Sink handler; ``--server`` chooses), with
the same number of concurrent connections, in the same run. Measured:

- baseline: a bare loop of ``aiosmtplib.SMTP.send_message`` over persistent connections,
  one task per connection, pre-built messages;
- pool: ``SmtpEmailSender.send`` (message built per send, headers sanitised, pooled
  connections);
- notifier: ``Notifier.handle`` per complaint (plan, compose from templates, ledger,
  send, record, announce) with in-memory state and events.

Prints a Markdown report; ``--json`` also writes the figures as JSON. Reports from
different machines compare by the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from bench.machine import describe, machine_lines
from kintsugi.common.ids import Cause
from services.notifier.adapters.smtp import SmtpEmailSender, SmtpPool, SmtpServer
from services.notifier.domain.case import Case
from services.notifier.domain.messages import ComposedMessage, MessageComposer
from services.notifier.domain.planner import Assigned
from services.notifier.service import Delivery, Failure, Hold, Notifier

FROM = "complaints@kintsugi.example"


@dataclass
class Row:
    measure: str
    messages: int
    seconds: float
    baseline_ratio: float | None = None

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_sink(kind: str, port: int) -> subprocess.Popen[bytes]:
    if kind == "smtp-sink":
        binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        user = ["-u", "nobody"] if os.geteuid() == 0 else []  # it refuses to run as root
        command = [binary, *user, f"127.0.0.1:{port}", "256"]
    else:
        command = [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.05)
    process.kill()
    raise SystemExit(f"SMTP sink did not start: {' '.join(command)}")


def prebuilt(count: int) -> list[EmailMessage]:
    messages = []
    for n in range(count):
        message = EmailMessage()
        message["From"] = FROM
        message["To"] = f"customer{n}@example.com"
        message["Subject"] = f"We're on it: your complaint {n}"
        message["Message-ID"] = f"<bench-{n}@kintsugi.example>"
        message.set_content("Dear customer,\n\n" + "We are looking after your complaint. " * 20)
        messages.append(message)
    return messages


async def bare_loop(port: int, count: int, connections: int) -> float:
    messages = prebuilt(count)
    queue: asyncio.Queue[EmailMessage] = asyncio.Queue()
    for message in messages:
        queue.put_nowait(message)

    async def worker() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
        await smtp.connect()
        try:
            while not queue.empty():
                await smtp.send_message(queue.get_nowait())
        finally:
            await smtp.quit()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started


def pooled_sender(port: int, connections: int) -> tuple[SmtpPool, SmtpEmailSender]:
    pool = SmtpPool(SmtpServer("127.0.0.1", port, timeout_s=30, max_connections=connections))
    sender = SmtpEmailSender(
        pool, from_address=FROM, from_name="Kintsugi Financial", clock=lambda: datetime.now(UTC)
    )
    return pool, sender


async def in_flight(work: Iterable[Callable[[], Awaitable[object]]], limit: int) -> None:
    """Run the work with at most ``limit`` in flight, as a consumer batch would."""
    room = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[object]]) -> None:
        async with room:
            await job()

    async with asyncio.TaskGroup() as tasks:
        for job in work:
            tasks.create_task(one(job))


async def pool_sends(port: int, count: int, connections: int) -> float:
    pool, sender = pooled_sender(port, connections)
    body = "Dear customer,\n\n" + "We are looking after your complaint. " * 20
    message = ComposedMessage("We're on it: your complaint", body, "Mei Chen")

    def job(n: int) -> Callable[[], Awaitable[str]]:
        return lambda: sender.send(
            recipient=f"customer{n}@example.com",
            message=message,
            notification_id=f"n-{n}",
            complaint_id=f"c-{n}",
        )

    started = time.perf_counter()
    await in_flight((job(n) for n in range(count)), connections * 4)
    elapsed = time.perf_counter() - started
    await pool.close()
    return elapsed


class _Cases:
    def __init__(self, cases: list[Case]) -> None:
        self.by_id = {c.complaint_id: c for c in cases}

    def get(self, complaint_id: str) -> Case | None:
        return self.by_id.get(complaint_id)

    def all(self) -> Iterable[Case]:
        return self.by_id.values()

    async def save(self, case: Case) -> None:
        self.by_id[case.complaint_id] = case

    async def save_now(self, case: Case) -> None:
        self.by_id[case.complaint_id] = case


class Events:
    def __init__(self) -> None:
        self.count = 0

    async def sent(self, complaint_id: str, delivery: Delivery, cause: Cause) -> None:
        self.count += 1

    async def failed(self, complaint_id: str, failure: Failure, cause: Cause) -> None:
        raise SystemExit(f"delivery failed during the benchmark: {failure.reason}")

    async def held_for_review(self, complaint_id: str, hold: Hold, cause: Cause) -> None:
        raise SystemExit("nothing in the benchmark is sampled for executive review")


async def notifier_handles(port: int, count: int, connections: int) -> float:
    pool, sender = pooled_sender(port, connections)
    cases = [
        Case(
            complaint_id=f"bench-{n}",
            customer_name=f"Customer {n}",
            channel="email",
            email=f"customer{n}@example.com",
            regime="uk-fca-disp",
            language="en-GB",
        )
        for n in range(count)
    ]
    events = Events()
    notifier = Notifier(
        _Cases(cases),
        {"email": sender},
        events,
        MessageComposer("Kintsugi Financial"),
        lambda: datetime.now(UTC),
        attempt_timeout_s=30,
    )
    assigned = Assigned("Mei Chen", "Cards")

    def job(case: Case) -> Callable[[], Awaitable[object]]:
        return lambda: notifier.handle(case.complaint_id, assigned, Cause("a", "r"))

    started = time.perf_counter()
    await in_flight((job(c) for c in cases), connections * 4)
    elapsed = time.perf_counter() - started
    await pool.close()
    if events.count != count:
        raise SystemExit(f"sent {events.count} of {count}")
    return elapsed


def best(measure: Callable[[], Awaitable[float]], repeats: int) -> float:
    return min(asyncio.run(measure()) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller run, well under a minute")
    parser.add_argument("--messages", type=int, help="messages per measurement")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--server",
        choices=["aiosmtpd", "smtp-sink"],
        help="default: Postfix's smtp-sink when installed (a C server: the client is what is "
        "measured), else aiosmtpd",
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    # `make bench` passes one BENCH_ARGS to every script: ignore the ones meant for others.
    options, _ = parser.parse_known_args()
    if options.server is None:
        installed = shutil.which("smtp-sink") or Path("/usr/sbin/smtp-sink").exists()
        options.server = "smtp-sink" if installed else "aiosmtpd"
    count = options.messages or (1_000 if options.quick else 5_000)
    repeats = 2 if options.quick else 3
    port = free_port()
    sink = start_sink(options.server, port)
    try:
        c = options.connections
        best(lambda: bare_loop(port, min(count, 200), c), 1)  # warm up both ends
        baseline = Row(
            "baseline: bare aiosmtplib send loop",
            count,
            best(lambda: bare_loop(port, count, c), repeats),
        )
        pool = Row(
            "SmtpEmailSender through SmtpPool",
            count,
            best(lambda: pool_sends(port, count, c), repeats),
        )
        full = Row(
            "Notifier.handle (plan, compose, ledger, send, announce)",
            count,
            best(lambda: notifier_handles(port, count, c), repeats),
        )
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    for row in (pool, full):
        row.baseline_ratio = row.rate / baseline.rate
    rows = [baseline, pool, full]
    print(report(rows, count, options))
    if options.json is not None:
        options.json.write_text(
            json.dumps(
                {
                    "benchmark": "notifier_delivery",
                    "machine": describe(),
                    "server": options.server,
                    "connections": options.connections,
                    "messages": count,
                    "rows": [{**asdict(r), "per_second": r.rate} for r in rows],
                },
                indent=2,
            )
            + "\n"
        )


def report(rows: list[Row], count: int, options: argparse.Namespace) -> str:
    lines = [
        "## Notifier email delivery",
        "",
        *machine_lines(),
        f"- Workload: {count:,} messages per measurement, {options.connections} connections, "
        f"into a local {options.server} sink in its own process"
        f"{', --quick' if options.quick else ''}; best of the repeats",
        "",
        "| measure | emails/s | relative to the baseline in this run |",
        "|---|---:|---|",
    ]
    for row in rows:
        ratio = f"{row.baseline_ratio:.2f}x" if row.baseline_ratio is not None else "baseline"
        lines.append(f"| {row.measure} | {row.rate:,.0f} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
