"""``make up`` / ``make down``: the whole local stack, and sample complaints' journeys.

python -m tools.devstack.stack up     start mailbox + 4 services, submit samples, follow
python -m tools.devstack.stack down   stop everything ``up`` started
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import grpc

from kintsugi.common.codec import Event, event_type
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.timeutil import from_timestamp
from kintsugi.common.topics import COMPLAINT_EVENTS
from kintsugi.common.vocabulary import SEVERITY_NAMES
from kintsugi.events.v1 import clock_pb2
from kintsugi.intake.v1 import intake_pb2_grpc
from tools.devstack import prometheus
from tools.devstack.events import TopicTail
from tools.devstack.processes import SERVICE_NAMES, ServiceProcess, StackConfig, start_service
from tools.devstack.samples import sample_requests

LOCAL = Path(".local")
RUN_DIR = LOCAL / "run"
LOG_DIR = LOCAL / "logs"
MAIL_DIR = LOCAL / "mail"
SMTP_PORT = 2525
PROMETHEUS_PORT = 9090
ACK_DEADLINE_S = 60.0


def _pid_file(name: str) -> Path:
    return RUN_DIR / f"{name}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _running(name: str) -> bool:
    pid_file = _pid_file(name)
    return pid_file.exists() and _alive(int(pid_file.read_text()))


def _start_mailbox() -> None:
    if _running("mailbox"):
        return
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with (LOG_DIR / "mailbox.log").open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tools.devstack.mailbox",
                "--port",
                str(SMTP_PORT),
                "--dir",
                str(MAIL_DIR),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _pid_file("mailbox").write_text(str(process.pid))


def _start_services(config: StackConfig) -> None:
    started: list[ServiceProcess] = []
    for name in SERVICE_NAMES:
        if _running(name):
            print(f"  {name:<9} already running")
            continue
        process = start_service(name, config, LOG_DIR, detach=True)
        _pid_file(name).write_text(str(process.process.pid))
        started.append(process)
    for process in started:
        process.wait_ready(timeout_s=90)
        print(f"  {process.name:<9} ready  (metrics http://127.0.0.1:{process.ops_port}/metrics)")


def _start_prometheus(config: StackConfig) -> None:
    if not prometheus.available():
        print("  prometheus not installed (apt-get install prometheus) - skipped")
        return
    if not _running("prometheus"):
        server = prometheus.start_prometheus(
            config.ops_ports, PROMETHEUS_PORT, LOCAL / "prometheus", interval_s=5, detach=True
        )
        _pid_file("prometheus").write_text(str(server.process.pid))
        server.wait_ready()
    print(f"  prometheus http://127.0.0.1:{PROMETHEUS_PORT} (scrapes all four, Kintsugi alerts)")


def _describe(event: Event) -> str | list[str] | None:
    kind = event_type(event)
    if kind == "received":
        r = event.received
        return f"received       {r.customer.display_name} via email, {r.jurisdiction}"
    if kind == "classified":
        c = event.classified
        severity = SEVERITY_NAMES.get(c.severity, "?")
        return f"classified     {c.category}, {severity} severity, regime {c.regime}"
    if kind == "assigned":
        a = event.assigned
        return f"assigned       {a.handler_name} ({a.team_name})"
    if kind == "clocks_started":
        lines = []
        for s in event.clocks_started.clocks:
            due = from_timestamp(s.due_at).strftime("%Y-%m-%d %H:%M UTC")
            lines.append(f"clock started  {s.clock.policy_id}/{s.clock.clock_kind} due {due}")
        return lines
    if kind == "clock_stopped":
        stopped = event.clock_stopped
        outcome = clock_pb2.ClockOutcome.Name(stopped.outcome).removeprefix("CLOCK_OUTCOME_")
        return f"clock stopped  {stopped.clock.policy_id}/{stopped.clock.clock_kind}: {outcome}"
    if kind == "notification_sent":
        n = event.notification_sent
        return f"acknowledged   email to {n.recipient_masked}, signed {n.signed_by}"
    return None


async def _submit_and_follow(config: StackConfig) -> bool:
    kafka = KafkaSettings()
    async with TopicTail(kafka, kafka.topic(COMPLAINT_EVENTS), from_start=False) as tail:
        submitted: dict[str, float] = {}
        names: dict[str, str] = {}
        async with grpc.aio.insecure_channel(f"127.0.0.1:{config.grpc_port}") as channel:
            stub = intake_pb2_grpc.IntakeServiceStub(channel)
            run_id = uuid.uuid4().hex[:8]
            for request in sample_requests(run_id, datetime.now(UTC)):
                response = await stub.SubmitComplaint(request, timeout=10)
                submitted[response.complaint_id] = time.monotonic()
                names[response.complaint_id] = request.customer.display_name
        print(f"\nsubmitted {len(submitted)} sample complaints; their journeys:\n")
        acknowledged: set[str] = set()
        clocks_stopped: set[str] = set()
        async for event in tail.events(ACK_DEADLINE_S):
            if event.complaint_id not in submitted:
                continue
            described = _describe(event)
            if described is None:
                continue
            elapsed = time.monotonic() - submitted[event.complaint_id]
            lines = [described] if isinstance(described, str) else described
            for line in lines:
                print(f"  +{elapsed:6.2f}s  {event.complaint_id[:8]}  {line}")
            if event_type(event) == "notification_sent":
                acknowledged.add(event.complaint_id)
            elif event_type(event) == "clock_stopped":
                clocks_stopped.add(event.complaint_id)
            if acknowledged == clocks_stopped == set(submitted):
                break
    print(
        f"\n{len(acknowledged)}/{len(submitted)} complaints acknowledged by email "
        f"(mail stored in {MAIL_DIR}/)"
    )
    return acknowledged == set(submitted)


def up() -> int:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    config = StackConfig(bootstrap_servers=KafkaSettings().bootstrap_servers, smtp_port=SMTP_PORT)
    print("starting the local stack:")
    _start_mailbox()
    print(f"  mailbox   SMTP on 127.0.0.1:{SMTP_PORT}, mail in {MAIL_DIR}/")
    _start_services(config)
    _start_prometheus(config)
    ok = asyncio.run(_submit_and_follow(config))
    print("\nthe stack keeps running; logs in .local/logs/, stop it with: make down")
    return 0 if ok else 1


def down() -> int:
    for name in ("prometheus", *reversed(SERVICE_NAMES), "mailbox"):
        pid_file = _pid_file(name)
        if not pid_file.exists():
            continue
        pid = int(pid_file.read_text())
        if _alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
            print(f"stopped {name}")
        pid_file.unlink()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="tools.devstack.stack")
    parser.add_argument("command", choices=["up", "down"])
    args = parser.parse_args()
    return up() if args.command == "up" else down()


if __name__ == "__main__":
    sys.exit(main())
