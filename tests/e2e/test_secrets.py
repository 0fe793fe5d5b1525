"""The four services, each logged in to Kafka as its own user on a broker that enforces
the KafkaUsers' ACLs (so those grants are enough to do the whole job), carry complaints
to their acknowledgements - by email through an SMTP server that wants a password, and by
SMS through an HMAC-signed gateway - while no secret they hold ever shows in their logs,
on their /metrics, or in any record on any topic; nor do the customers' contact details
or words show in the logs.

Needs its own broker (``secured_kafka``): skipped against an external cluster.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from kintsugi.common.timeutil import to_timestamp
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2, intake_pb2_grpc
from services.intake.domain.credentials import token_hash
from tests.integration.secured_kafka import SecuredBroker
from tools.devstack.mailbox import Mailbox
from tools.devstack.processes import ServiceProcess, StackConfig, free_port, start_stack

pytestmark = [
    pytest.mark.skipif(
        bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS")),
        reason="needs a broker of its own that enforces ACLs (started locally)",
    ),
    # The test's SMTP server takes a password without TLS: it is on 127.0.0.1.
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

BEARER_TOKEN = "upstream-crm-bearer-3f9a2c7e41"
SMTP_USER, SMTP_PASSWORD = "kintsugi-mailer", "smtp-password-8d1e5b2a97"
GATEWAY_KEY = b"gateway-hmac-key-5c0f7e13ab"
CUSTOMERS = {
    "email": dict(name="Philippa Quennell", email="philippa.quennell@example.org"),
    "sms": dict(name="Bartholomew Ibekwe", phone="+447700900461"),
}
COMPLAINT_WORDS = "the branch in Tobermory refused my deposit"


@dataclass(frozen=True)
class LoggedInStack(StackConfig):
    """A stack whose services each log in to Kafka as their own user."""

    kafka_logins: dict[str, dict[str, str]] = field(default_factory=dict)

    def env(self, service: str, instance: str | None = None) -> dict[str, str]:
        return {**super().env(service, instance), **self.kafka_logins.get(service, {})}


class SmsGateway:
    def __init__(self) -> None:
        self.texts: list[dict[str, Any]] = []
        self.received = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.texts.append(await request.json())
        self.received.set()
        return web.json_response({"id": f"sms-{len(self.texts)}"})


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok)


@dataclass
class Run:
    processes: list[ServiceProcess]
    mailbox: Mailbox
    sms: SmsGateway
    broker: SecuredBroker
    log_dir: Path
    grpc_port: int

    def mailbox_wait(self, address: str) -> None:
        """Until a message to ``address`` arrived (the SMTP server runs in a thread)."""
        while not self.mailbox.to(address):
            time.sleep(0.2)


@pytest.fixture(scope="module")
def broker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("secrets")


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[int, Mailbox]]:
    box = Mailbox()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=_authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    yield controller.port, box
    controller.stop()


@pytest.fixture(scope="module")
async def run(broker_dir: Path, mailbox: tuple[int, Mailbox]) -> AsyncIterator[Run]:
    broker = SecuredBroker(broker_dir / "kafka", topic_prefix="")
    gateway = SmsGateway()
    app = web.Application()
    app.router.add_post("/sms", gateway.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    sms_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", sms_port).start()
    processes: list[ServiceProcess] = []
    try:
        await broker.start()
        secrets_dir = broker_dir / "secrets"
        secrets_dir.mkdir()
        (secrets_dir / "tokens").write_text(f"crm {token_hash(BEARER_TOKEN)}\n")
        (secrets_dir / "gateway").write_bytes(GATEWAY_KEY)
        smtp_port, box = mailbox
        config = LoggedInStack.on_free_ports(
            broker.bootstrap,
            "",
            smtp_port=smtp_port,
            sla_data_dir=broker_dir / "sla",
            service_settings={
                "intake": {"TOKENS_FILE": str(secrets_dir / "tokens")},
                "notifier": {
                    "SMTP_USERNAME": SMTP_USER,
                    "SMTP_PASSWORD": SMTP_PASSWORD,
                    "SMS_GATEWAY_URL": f"http://127.0.0.1:{sms_port}/sms",
                    "GATEWAY_SECRET_FILE": str(secrets_dir / "gateway"),
                },
            },
            kafka_logins={
                service: {
                    "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                    "KAFKA_SASL_MECHANISM": "PLAIN",
                    "KAFKA_SASL_USERNAME": f"kintsugi-{service}",
                    "KAFKA_SASL_PASSWORD": broker.passwords[f"kintsugi-{service}"],
                }
                for service in ("intake", "router", "sla", "notifier")
            },
        )
        processes = await asyncio.to_thread(start_stack, config, broker_dir / "logs")
        yield Run(processes, box, gateway, broker, broker_dir / "logs", config.grpc_port)
    finally:
        for process in processes:
            await asyncio.to_thread(process.stop)
        await runner.cleanup()
        broker.stop()


def request(channel: str) -> intake_pb2.SubmitComplaintRequest:
    who = CUSTOMERS[channel]
    return intake_pb2.SubmitComplaintRequest(
        source_system="crm",
        source_reference=f"secret-test-{channel}",
        customer=pb.Customer(
            customer_id=f"cust-{channel}",
            display_name=who["name"],
            email=who.get("email", ""),
            phone=who.get("phone", ""),
        ),
        channel=pb.CHANNEL_EMAIL if channel == "email" else pb.CHANNEL_SMS,
        description=f"I am unhappy: {COMPLAINT_WORDS}.",
        jurisdiction="GB-ENG",
        received_at=to_timestamp(datetime.now(UTC) - timedelta(minutes=10)),
    )


def logs_and_metrics(
    processes: list[ServiceProcess],
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    logs = {p.name: p.log_path.read_bytes() for p in processes}
    metrics = {}
    for p in processes:
        with urllib.request.urlopen(f"http://127.0.0.1:{p.ops_port}/metrics") as response:
            metrics[p.name] = response.read()
    return logs, metrics


async def everything_on_every_topic(broker: SecuredBroker) -> list[bytes]:
    """Keys, values and headers of every record on every topic (read as the admin)."""
    consumer = AIOKafkaConsumer(**broker.settings("admin").client_options(), group_id=None)
    await consumer.start()
    try:
        metadata = await consumer._client.fetch_all_metadata()
        partitions = [
            TopicPartition(topic, p)
            for topic in metadata.topics()
            for p in metadata.partitions_for_topic(topic) or ()
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        seen: list[bytes] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=1_000)).values():
                for record in records:
                    seen.extend([record.key or b"", record.value or b""])
                    seen.extend(value for _, value in record.headers)
        return seen
    finally:
        await consumer.stop()


async def test_the_job_gets_done_and_no_secret_or_customer_detail_leaks(run: Run) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{run.grpc_port}") as channel:
        intake = intake_pb2_grpc.IntakeServiceStub(channel)
        for kind in CUSTOMERS:
            await intake.SubmitComplaint(
                request(kind), metadata=(("authorization", f"Bearer {BEARER_TOKEN}"),), timeout=15
            )
    async with asyncio.timeout(120):
        await run.sms.received.wait()
        await asyncio.to_thread(run.mailbox_wait, CUSTOMERS["email"]["email"])
    assert run.sms.texts[0]["to"] == CUSTOMERS["sms"]["phone"]

    secrets = {
        "bearer token": BEARER_TOKEN.encode(),
        "smtp password": SMTP_PASSWORD.encode(),
        "gateway key": GATEWAY_KEY,
        "gateway key (base64)": base64.b64encode(GATEWAY_KEY),
        **{f"kafka password of {user}": pw.encode() for user, pw in run.broker.passwords.items()},
    }
    logs, metrics = await asyncio.to_thread(logs_and_metrics, run.processes)
    records = await everything_on_every_topic(run.broker)
    assert records and all(logs.values()) and all(metrics.values())
    for what, secret in secrets.items():
        for name, text in logs.items():
            assert secret not in text, f"{what} in the {name} log"
        for name, text in metrics.items():
            assert secret not in text, f"{what} on the {name} /metrics"
        assert not [r for r in records if secret in r], f"{what} in a topic record"

    personal = [
        CUSTOMERS["email"]["email"],
        CUSTOMERS["email"]["name"],
        CUSTOMERS["sms"]["phone"],
        CUSTOMERS["sms"]["name"],
        COMPLAINT_WORDS,
    ]
    for detail in personal:
        for name, text in logs.items():
            assert detail.encode() not in text, f"{detail!r} in the {name} log"
