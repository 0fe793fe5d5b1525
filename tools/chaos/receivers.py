"""The servers customers' messages land on, which the run takes down and brings back.

The mail server is the devstack's aiosmtpd mailbox; the SMS and chat gateways are one
aiohttp server that checks each request's HMAC signature, as a provider would. Both keep
everything they accepted across their outages, on fixed ports, so the notifier finds them
again where it left them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

from aiohttp import web
from aiosmtpd.controller import Controller

from services.notifier.adapters.gateway import SIGNATURE_HEADER, TIMESTAMP_HEADER
from tools.devstack.mailbox import Mailbox
from tools.devstack.processes import free_port

GATEWAY_CHANNELS = ("sms", "chat")


class MailServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    @property
    def up(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@dataclass(frozen=True, slots=True)
class GatewayRequest:
    channel: str
    idempotency_key: str
    notification_id: str
    complaint_id: str


@dataclass
class Gateways:
    """SMS and chat gateways on one port: ``/sms`` and ``/chat``."""

    secret: bytes
    port: int = field(default_factory=free_port)
    received: list[GatewayRequest] = field(default_factory=list)
    refused_signatures: int = 0
    _runner: web.AppRunner | None = None
    _site: web.TCPSite | None = None

    def url(self, channel: str) -> str:
        return f"http://127.0.0.1:{self.port}/{channel}"

    @property
    def up(self) -> bool:
        return self._site is not None

    async def start(self) -> None:
        if self._runner is None:
            app = web.Application()
            for channel in GATEWAY_CHANNELS:
                app.router.add_post(f"/{channel}", self._handle)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
        if self._site is None:
            self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
            await self._site.start()

    async def stop(self) -> None:
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def close(self) -> None:
        await self.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        digest = hmac.new(self.secret, timestamp.encode() + b"." + body, hashlib.sha256)
        if request.headers.get(SIGNATURE_HEADER) != f"sha256={digest.hexdigest()}":
            self.refused_signatures += 1
            return web.Response(status=401)
        payload = json.loads(body)
        key = request.headers.get("Idempotency-Key", "")
        self.received.append(
            GatewayRequest(
                channel=str(payload.get("channel", "")),
                idempotency_key=key,
                notification_id=str(payload.get("notification_id", "")),
                complaint_id=str(payload.get("complaint_id", "")),
            )
        )
        return web.json_response({"id": f"gw-{key}"})
