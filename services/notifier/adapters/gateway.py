"""SMS, chat and private social messages through an HTTP gateway, one per channel.

Each request is JSON, signed with HMAC-SHA256 over "<timestamp>.<body>" so the gateway
can verify it came from us and is fresh, and carries the notification id as its
Idempotency-Key so a repeat after a crash is recognised. 2xx: sent, the provider's
message id is recorded; 408/429/5xx, timeouts and connection errors: transient; any
other 4xx: permanent (a bad number, a blocked handle).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import datetime

import aiohttp

from kintsugi.common import metrics
from services.notifier.domain.messages import ComposedMessage
from services.notifier.domain.retry import http_failure, transient

SIGNATURE_HEADER = "X-Kintsugi-Signature"
TIMESTAMP_HEADER = "X-Kintsugi-Timestamp"


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class HttpGatewaySender:
    def __init__(
        self,
        *,
        channel: str,
        url: str,
        secret: bytes,
        session: aiohttp.ClientSession,
        clock: Callable[[], datetime],
        timeout_s: float = 10.0,
    ) -> None:
        if not secret:
            raise ValueError(f"{channel} gateway secret: must not be empty")
        self.channel = channel
        self._url = url
        self._secret = secret
        self._session = session
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    def destination(self, recipient: str) -> str:
        return f"{self.channel}:{self._url}"

    def provider_message_id(self, notification_id: str) -> str:
        return ""  # known only once the gateway answers

    async def send(
        self, *, recipient: str, message: ComposedMessage, notification_id: str, complaint_id: str
    ) -> str:
        body = json.dumps(
            {
                "notification_id": notification_id,
                "complaint_id": complaint_id,
                "channel": self.channel,
                "to": recipient,
                "text": message.body.strip(),
                "signed_by": message.signed_by,
            },
            separators=(",", ":"),
        ).encode()
        timestamp = str(int(self._clock().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": notification_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self._secret, timestamp, body),
        }
        started = time.perf_counter()
        try:
            async with self._session.post(
                self._url, data=body, headers=headers, timeout=self._timeout
            ) as response:
                text = await response.text()
                if response.status >= 300:
                    raise http_failure(response.status, text[:200])
                try:
                    answer = json.loads(text) if text else {}
                except ValueError:
                    answer = {}
        except (aiohttp.ClientError, TimeoutError) as error:
            raise transient(f"{self.channel} gateway: {type(error).__name__}: {error}") from error
        finally:
            metrics.NOTIFICATION_DELIVERY_SECONDS.labels(self.channel).observe(
                time.perf_counter() - started
            )
        provider_id = answer.get("id") if isinstance(answer, dict) else None
        return str(provider_id) if provider_id else notification_id
