"""Benchmark of email delivery: the notifier's path beside a bare aiosmtplib loop.

    .venv/bin/python -m bench.notifier_delivery [--quick] [--messages N] [--json PATH]

Both sides send into the same local SMTP sink, run in a separate process (Postfix's
``smtp-sink`` when installed, else aiosmtpd's Sink handler; ``--server`` chooses), with
the same number of concurrent connections, in the same run. Measured:

- baseline: a bare loop of ``aiosmtplib.SMTP.send_message`` over persistent connections,
  one task per connection, pre-built messages;
- reference: the same loop handing aiosmtplib pre-serialised bytes (``sendmail``), the
  least any client of the library can do per message;
- pool: ``SmtpEmailSender.send`` (message built per send, headers sanitised, pooled
  connections);
- notifier: ``Notifier.handle`` per complaint (plan, compose from templates, ledger,
  send, record, announce) with in-memory state and events.

The measures take turns, round after round, so a busy neighbour on a shared machine
slows all of them alike; each row reports its best round, and the notifier's ratio to
the baseline is also given round by round. CPU per email is this process's (the client's)
and the sink's, from the best round. Prints a Markdown report; ``--json`` also writes the
figures as JSON. Reports from different machines compare by the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiosmtplib

from bench.machine import cpu_seconds, describe, machine_lines
from kintsugi.common.ids import Cause
from services.notifier.adapters.smtp import SmtpEmailSender, SmtpPool, SmtpServer
from services.notifier.domain.case import Case
from services.notifier.domain.messages import ComposedMessage, MessageComposer
from services.notifier.domain.planner import Assigned, PlanRules, plan
from services.notifier.service import Delivery, Failure, Hold, Notifier
from tools.devstack.smtp_sink import smtp_sink_command

FROM = "complaints@kintsugi.example"


@dataclass(frozen=True)
class Run:
    seconds: float
    client_cpu_s: float  # this process's CPU while sending
    sink_cpu_s: float = 0.0


@dataclass
class Row:
    measure: str
    messages: int
    seconds: float
    client_cpu_us: float  # per email
    sink_cpu_us: float
    baseline_ratio: float | None = None

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


class Timed:
    """Wall and CPU time of the block: ``run`` once it has exited."""

    def __enter__(self) -> Timed:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.run = Run(time.perf_counter() - self._wall, time.process_time() - self._cpu)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_sink(kind: str, port: int) -> subprocess.Popen[bytes]:
    if kind == "smtp-sink":
        sink = smtp_sink_command()
        if sink is None:
            raise SystemExit("smtp-sink not found: make smtp-sink-tool")
        user = ["-u", "nobody"] if os.geteuid() == 0 else []  # it refuses to run as root
        command = [*sink, *user, f"127.0.0.1:{port}", "256"]
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


def bench_case(n: int) -> Case:
    return Case(
        complaint_id=f"bench-{n}",
        customer_name=f"Customer {n}",
        channel="email",
        email=f"customer{n}@example.com",
        regime="uk-fca-disp",
        language="en-GB",
    )


def acknowledgement() -> ComposedMessage:
    """The message the notifier sends in this benchmark: every row moves the same text,
    so the sink does the same work for each."""
    assigned = Assigned("Mei Chen", "Cards")
    case = bench_case(0).with_handler(assigned.handler_name, assigned.team_name)
    [planned] = plan(case, assigned, PlanRules())
    return MessageComposer("Kintsugi Financial").compose(case, planned, "email")


def prebuilt(count: int) -> list[EmailMessage]:
    """The acknowledgement with the notifier's headers, built before the clock starts."""
    text = acknowledgement()
    messages = []
    for n in range(count):
        message = EmailMessage()
        message["From"] = f"{text.signed_by} (Kintsugi Financial) <{FROM}>"
        message["To"] = f"customer{n}@example.com"
        message["Subject"] = text.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = f"<bench-{n}@kintsugi.example>"
        message["X-Kintsugi-Complaint-Id"] = f"bench-{n}"
        message["X-Kintsugi-Notification-Id"] = f"n-{n}"
        message.set_content(text.body, cte="quoted-printable")
        messages.append(message)
    return messages


async def bare_loop(port: int, count: int, connections: int) -> Run:
    return await _loop(port, prebuilt(count), connections)


async def bytes_loop(port: int, count: int, connections: int) -> Run:
    serialised = [(str(m["To"]), m.as_bytes()) for m in prebuilt(count)]
    return await _loop(port, serialised, connections)


async def _loop(
    port: int, messages: list[EmailMessage] | list[tuple[str, bytes]], connections: int
) -> Run:
    queue: asyncio.Queue[EmailMessage | tuple[str, bytes]] = asyncio.Queue()
    for message in messages:
        queue.put_nowait(message)

    async def worker() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
        await smtp.connect()
        try:
            while not queue.empty():
                match queue.get_nowait():
                    case EmailMessage() as message:
                        await smtp.send_message(message)
                    case (recipient, raw):
                        await smtp.sendmail(FROM, [recipient], raw)
        finally:
            await smtp.quit()

    with Timed() as timed:
        await asyncio.gather(*(worker() for _ in range(connections)))
    return timed.run


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


async def pool_sends(port: int, count: int, connections: int) -> Run:
    pool, sender = pooled_sender(port, connections)
    message = acknowledgement()

    def job(n: int) -> Callable[[], Awaitable[str]]:
        return lambda: sender.send(
            recipient=f"customer{n}@example.com",
            message=message,
            notification_id=f"n-{n}",
            complaint_id=f"c-{n}",
        )

    with Timed() as timed:
        await in_flight((job(n) for n in range(count)), connections * 4)
    await pool.close()
    return timed.run


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


async def notifier_handles(port: int, count: int, connections: int) -> Run:
    pool, sender = pooled_sender(port, connections)
    cases = [bench_case(n) for n in range(count)]
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

    with Timed() as timed:
        await in_flight((job(c) for c in cases), connections * 4)
    await pool.close()
    if events.count != count:
        raise SystemExit(f"sent {events.count} of {count}")
    return timed.run


Measure = Callable[[int, int, int], Coroutine[Any, Any, Run]]
MEASURES: dict[str, Measure] = {
    "baseline: bare aiosmtplib send loop": bare_loop,
    "reference: the same loop with pre-serialised bytes": bytes_loop,
    "SmtpEmailSender through SmtpPool": pool_sends,
    "Notifier.handle (plan, compose, ledger, send, announce)": notifier_handles,
}
BASELINE, _, _, NOTIFIER = MEASURES


def in_turns(
    port: int, sink_pid: int, count: int, connections: int, rounds: int
) -> dict[str, list[Run]]:
    """Every measure once per round, in turn; the sink's CPU read around each."""
    runs: dict[str, list[Run]] = {name: [] for name in MEASURES}
    for _ in range(rounds):
        for name, measure in MEASURES.items():
            sink_before = cpu_seconds(sink_pid)
            run = asyncio.run(measure(port, count, connections))
            sink_cpu = cpu_seconds(sink_pid) - sink_before
            runs[name].append(Run(run.seconds, run.client_cpu_s, sink_cpu))
    return runs


def best_row(name: str, runs: list[Run], count: int) -> Row:
    fastest = min(runs, key=lambda run: run.seconds)
    return Row(
        name,
        count,
        fastest.seconds,
        client_cpu_us=fastest.client_cpu_s / count * 1e6,
        sink_cpu_us=fastest.sink_cpu_s / count * 1e6,
    )


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
        installed = smtp_sink_command() is not None
        options.server = "smtp-sink" if installed else "aiosmtpd"
    count = options.messages or (1_000 if options.quick else 3_000)
    rounds = 3 if options.quick else 5
    port = free_port()
    sink = start_sink(options.server, port)
    try:
        asyncio.run(bare_loop(port, min(count, 200), options.connections))  # warm both ends
        runs = in_turns(port, sink.pid, count, options.connections, rounds)
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    rows = [best_row(name, measured, count) for name, measured in runs.items()]
    baseline = rows[0]
    for row in rows[1:]:
        row.baseline_ratio = row.rate / baseline.rate
    # Round by round: how steady the notifier's ratio is on this machine today.
    per_round = [b.seconds / n.seconds for b, n in zip(runs[BASELINE], runs[NOTIFIER], strict=True)]
    print(report(rows, per_round, count, rounds, options))
    if options.json is not None:
        options.json.write_text(
            json.dumps(
                {
                    "benchmark": "notifier_delivery",
                    "machine": describe(),
                    "server": options.server,
                    "connections": options.connections,
                    "messages": count,
                    "rounds": rounds,
                    "rows": [{**asdict(r), "per_second": r.rate} for r in rows],
                    "notifier_ratio_per_round": per_round,
                },
                indent=2,
            )
            + "\n"
        )


def report(
    rows: list[Row], per_round: list[float], count: int, rounds: int, options: argparse.Namespace
) -> str:
    lines = [
        "## Notifier email delivery",
        "",
        *machine_lines(),
        f"- Workload: {count:,} messages per measurement, {options.connections} connections, "
        f"into a local {options.server} sink in its own process"
        f"{', --quick' if options.quick else ''}; {rounds} rounds, the measures taking "
        "turns; best round of each",
        "",
        "| measure | emails/s | client CPU per email | sink CPU per email "
        "| relative to the baseline in this run |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        ratio = f"{row.baseline_ratio:.2f}x" if row.baseline_ratio is not None else "baseline"
        lines.append(
            f"| {row.measure} | {row.rate:,.0f} | {row.client_cpu_us:,.0f} µs "
            f"| {row.sink_cpu_us:,.0f} µs | {ratio} |"
        )
    ratios = ", ".join(f"{ratio:.2f}x" for ratio in per_round)
    lines += ["", f"Notifier.handle relative to the baseline, round by round: {ratios}"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
