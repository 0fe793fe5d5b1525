"""SMS/chat gateways over real HTTP (an aiohttp receiver) and letters on a real topic."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer

from kintsugi.common.bootstrap import create_topics
from kintsugi.common.kafka import make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.topics import DEAD_LETTERS
from services.notifier.adapters.gateway import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    HttpGatewaySender,
)
from services.notifier.adapters.letters import PrintQueueSender
from services.notifier.domain.messages import ComposedMessage
from services.notifier.domain.retry import DeliveryFailure, FailureKind

SECRET = b"gateway-test-key"
MESSAGE = ComposedMessage("", "Hello Jane, Mei Chen here.\n", "Mei Chen")


@dataclass
class Receiver:
    status: int = 200
    delay_s: float = 0.0
    requests: list[dict[str, object]] = field(default_factory=list)
    bad_signatures: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers[TIMESTAMP_HEADER]
        expected = hmac.new(SECRET, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        if request.headers[SIGNATURE_HEADER] != f"sha256={expected}":
            self.bad_signatures += 1
            return web.Response(status=401)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.status >= 300:
            return web.Response(status=self.status, text="no")
        payload = json.loads(body)
        payload["idempotency_key"] = request.headers["Idempotency-Key"]
        self.requests.append(payload)
        return web.json_response({"id": f"provider-{len(self.requests)}"})


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[Receiver, HttpGatewaySender]]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/sms", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as session:
        sender = HttpGatewaySender(
            channel="sms",
            url=f"http://127.0.0.1:{port}/sms",
            secret=SECRET,
            session=session,
            clock=lambda: datetime.now(UTC),
            timeout_s=1.0,
        )
        yield receiver, sender
    await runner.cleanup()


async def send(sender: HttpGatewaySender) -> str:
    return await sender.send(
        recipient="+447700900123", message=MESSAGE, notification_id="n-1", complaint_id="c-1"
    )


async def test_a_signed_request_is_accepted_and_the_providers_id_recorded(
    gateway: tuple[Receiver, HttpGatewaySender],
) -> None:
    receiver, sender = gateway

    assert await send(sender) == "provider-1"
    [request] = receiver.requests
    assert request["to"] == "+447700900123"
    assert request["idempotency_key"] == "n-1"
    assert request["text"] == "Hello Jane, Mei Chen here."
    assert receiver.bad_signatures == 0


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, FailureKind.TRANSIENT), (503, FailureKind.TRANSIENT), (400, FailureKind.PERMANENT)],
)
async def test_provider_answers_are_classified(
    gateway: tuple[Receiver, HttpGatewaySender], status: int, kind: FailureKind
) -> None:
    receiver, sender = gateway
    receiver.status = status

    with pytest.raises(DeliveryFailure) as failure:
        await send(sender)

    assert failure.value.kind is kind
    assert str(status) in failure.value.reason


async def test_a_slow_gateway_times_out_as_a_transient_failure(
    gateway: tuple[Receiver, HttpGatewaySender],
) -> None:
    receiver, sender = gateway
    receiver.delay_s = 3

    with pytest.raises(DeliveryFailure) as failure:
        await send(sender)

    assert failure.value.kind is FailureKind.TRANSIENT


async def test_a_letter_lands_on_the_print_queue_topic(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    spec = replace(DEAD_LETTERS, name=f"print-queue-{unique}", partitions=1)
    await create_topics(kafka_settings, (spec,))
    topic = kafka_settings.topic(spec)
    producer = make_producer(kafka_settings, "print-test")
    await producer.start()
    consumer = AIOKafkaConsumer(
        topic, **kafka_settings.client_options(), auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        sender = PrintQueueSender(producer, topic)
        letter = ComposedMessage("Your complaint", "Dear Jane,\n", "Mei Chen")
        provider_id = await sender.send(
            recipient="Jane Doe", message=letter, notification_id="n-9", complaint_id="c-9"
        )
        record = await asyncio.wait_for(consumer.getone(), timeout=20)
    finally:
        await consumer.stop()
        await producer.stop()

    assert provider_id == "letter:n-9"
    assert record.key == b"c-9"
    body = json.loads(record.value)  # type: ignore[arg-type]
    assert body["addressee"] == "Jane Doe" and body["signed_by"] == "Mei Chen"
    assert ("idempotency-key", b"n-9") in record.headers
