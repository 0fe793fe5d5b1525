"""``make chaos``: the whole scenario on a broker of the run's own, then the report.

    python -m tools.chaos [--complaints N] [--kills K] [--minutes M] [--seed S]
                          [--no-broker-faults] [--markdown PATH] [--json PATH]

Defaults come from CHAOS_COMPLAINTS (10000), CHAOS_KILLS (100), CHAOS_MINUTES (30),
CHAOS_SEED (12) and CHAOS_BROKER_FAULTS (1). With --bootstrap the run uses that cluster
on topics of its own and leaves the broker alone (the short run in ``make test``).
Exits 1 when anything was lost or doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from kintsugi.common.kafka_settings import KafkaSettings
from tools.chaos import scenario
from tools.chaos.broker import Broker
from tools.chaos.faults import FaultPlan, Injector
from tools.chaos.fleet import Fleet, LagProbe
from tools.chaos.load import LoadStats, stream
from tools.chaos.receivers import Gateways, MailServer
from tools.chaos.report import ChaosReport
from tools.chaos.report import write as write_report
from tools.chaos.timeline import Timeline
from tools.chaos.verify import Verdict, Verifier, deliveries
from tools.devstack.directory import write_roomy_directory
from tools.devstack.processes import StackConfig
from tools.devstack.topics import own_topics

REPLICAS = {"intake": 2, "router": 2, "sla": 2, "notifier": 2}
# The notifier's retry timings, shortened so that a receiver back after seconds gets its
# messages within seconds (the production defaults suit real providers: 15 s first
# back-off, 30 s breaker cool-down). The retry logic itself is the same.
NOTIFIER_TIMINGS = {
    "RETRY_TICK_S": "1",
    "RETRY_FIRST_BACKOFF_S": "2",
    "RETRY_MAX_BACKOFF_S": "20",
    "BREAKER_COOLDOWN_S": "5",
    "ATTEMPT_TIMEOUT_S": "5",
    "SMTP_TIMEOUT_S": "5",
    "GATEWAY_TIMEOUT_S": "5",
}
CHECK_EVERY_S = 5.0
QUIET_BEFORE_VERDICT_S = 5.0


@dataclass(frozen=True, slots=True)
class Options:
    complaints: int
    kills: int
    minutes: float
    seed: int = 12
    broker_faults: bool = True
    broker_freeze_s: float = 45.0
    outages: int = 20
    settle_minutes: float = 15.0
    bootstrap: str | None = None
    folder: Path = Path(".local/chaos")


async def run(options: Options) -> ChaosReport:
    folder = options.folder / uuid.uuid4().hex[:8]
    folder.mkdir(parents=True)
    broker: Broker | None = None
    bootstrap = options.bootstrap
    if bootstrap is None:
        broker = Broker(folder / "broker")
        await asyncio.to_thread(broker.start)
        bootstrap = broker.bootstrap_servers
    try:
        async with own_topics(bootstrap, "chaos") as kafka:
            return await _run(options, kafka, broker, folder)
    finally:
        if broker is not None:
            await asyncio.to_thread(broker.stop)


def _stack(kafka: KafkaSettings, folder: Path, mail: MailServer, gateways: Gateways) -> StackConfig:
    secret_file = folder / "gateway-secret"
    secret_file.write_bytes(gateways.secret)
    secret_file.chmod(0o600)
    return StackConfig.on_free_ports(
        kafka.bootstrap_servers,
        kafka.topic_prefix,
        smtp_port=mail.port,
        sla_data_dir=folder / "sla",
        sla_stall_after_s=15,
        router_directory=write_roomy_directory(folder / "directory.yaml"),
        replicas=REPLICAS,
        service_settings={
            "notifier": {
                **NOTIFIER_TIMINGS,
                "SMS_GATEWAY_URL": gateways.url("sms"),
                "CHAT_GATEWAY_URL": gateways.url("chat"),
                "GATEWAY_SECRET_FILE": str(secret_file),
            }
        },
    )


async def _run(
    options: Options, kafka: KafkaSettings, broker: Broker | None, folder: Path
) -> ChaosReport:
    began = time.monotonic()
    mail = MailServer()
    mail.start()
    gateways = Gateways(secrets.token_hex(32).encode())
    await gateways.start()
    config = _stack(kafka, folder, mail, gateways)
    fleet = Fleet(config, kafka, folder / "logs")
    timeline = Timeline(kafka)
    done_reading, done_supervising = asyncio.Event(), asyncio.Event()
    complaints = scenario.build(options.complaints, folder.name, options.seed)
    verifier = Verifier(complaints)
    load = LoadStats()
    plan = FaultPlan(
        window_s=options.minutes * 60,
        kills=options.kills,
        broker_restart=options.broker_faults and broker is not None,
        broker_freeze_s=options.broker_freeze_s if options.broker_faults and broker else 0.0,
        receiver_outages=options.outages,
        seed=options.seed,
    )
    injector = Injector(plan, fleet, broker, mail, gateways)
    seconds: dict[str, float] = {}
    try:
        await fleet.start()
        seconds["start"] = time.monotonic() - began
        reader = asyncio.create_task(timeline.follow(done_reading))
        supervisor = asyncio.create_task(fleet.supervise(done_supervising))
        await asyncio.gather(
            stream(complaints, config.grpc_target(), plan.window_s, load), injector.run()
        )
        seconds["stream and faults"] = time.monotonic() - began - seconds["start"]
        verdict = await _settle(options, fleet, timeline, verifier, load, mail, gateways)
        seconds["settle"] = time.monotonic() - began - sum(seconds.values())
        done_reading.set()
        await reader
        verdict = verifier.verify(timeline, load, deliveries(mail.mailbox, gateways.received))
        await fleet.settle(timeout_s=60)
        done_supervising.set()
        await supervisor
    finally:
        await fleet.stop()
        await gateways.close()
        mail.stop()
    seconds["total"] = time.monotonic() - began
    return ChaosReport(
        complaints=len(complaints),
        activities=sum(len(c.activities) for c in complaints),
        replicas=REPLICAS,
        plan=plan,
        load=load,
        recoveries=fleet.recoveries,
        faults=injector.log,
        verdict=verdict,
        seconds=seconds,
        receivers={
            "emails accepted": len(mail.mailbox.messages),
            "gateway requests accepted": len(gateways.received),
            "gateway requests refused (bad signature)": gateways.refused_signatures,
        },
    )


async def _settle(
    options: Options,
    fleet: Fleet,
    timeline: Timeline,
    verifier: Verifier,
    load: LoadStats,
    mail: MailServer,
    gateways: Gateways,
) -> Verdict:
    """Until every complaint checks out and every consumer group is at lag 0 (or the
    settle time is up), then a last quiet moment for any late double to show."""
    probe = LagProbe(fleet.kafka)
    deadline = time.monotonic() + options.settle_minutes * 60
    try:
        while True:
            verdict = verifier.verify(timeline, load, deliveries(mail.mailbox, gateways.received))
            lag = -1
            with contextlib.suppress(Exception):
                lag = await fleet.lag(probe)
            print(
                f"settling: {len(verdict.problems)} problems, consumer lag {lag}"
                + (f"; first: {verdict.problems[0]}" if verdict.problems else ""),
                file=sys.stderr,
            )
            if (verdict.ok and lag == 0) or time.monotonic() > deadline:
                await asyncio.sleep(QUIET_BEFORE_VERDICT_S)
                return verdict
            await asyncio.sleep(CHECK_EVERY_S)
    finally:
        await probe.close()


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=int(_env("CHAOS_COMPLAINTS", "10000")))
    parser.add_argument("--kills", type=int, default=int(_env("CHAOS_KILLS", "100")))
    parser.add_argument(
        "--minutes",
        type=float,
        default=float(_env("CHAOS_MINUTES", "30")),
        help="how long complaints stream in while faults happen",
    )
    parser.add_argument("--seed", type=int, default=int(_env("CHAOS_SEED", "12")))
    parser.add_argument(
        "--no-broker-faults",
        dest="broker_faults",
        action="store_false",
        default=_env("CHAOS_BROKER_FAULTS", "1") != "0",
    )
    parser.add_argument("--freeze-seconds", type=float, default=45.0)
    parser.add_argument("--outages", type=int, default=int(_env("CHAOS_OUTAGES", "20")))
    parser.add_argument(
        "--settle-minutes",
        type=float,
        default=15.0,
        help="after the faults, how long everything may take to check out",
    )
    parser.add_argument("--bootstrap", help="use this cluster instead of a broker of our own")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    # The run's own readers reconnect through broker faults by design; their clients'
    # complaints meanwhile are noise.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    options = Options(
        complaints=args.complaints,
        kills=args.kills,
        minutes=args.minutes,
        seed=args.seed,
        broker_faults=args.broker_faults,
        broker_freeze_s=args.freeze_seconds,
        outages=args.outages,
        settle_minutes=args.settle_minutes,
        bootstrap=args.bootstrap,
    )
    report = asyncio.run(run(options))
    write_report(report, args.markdown, args.json)
    return 0 if report.verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
