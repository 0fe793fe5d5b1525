"""Email over SMTP: a bounded pool of reused aiosmtplib connections to one relay.

The pool caps concurrent connections to the relay (one slow relay ties up at most that
many deliveries, never the consumer: the notifier bounds each attempt with a timeout),
reuses connections between messages, and classifies every failure: 4xx at any stage -
greylisting answers 4xx to RCPT - and connection problems are transient; 5xx to MAIL,
RCPT or DATA is permanent for that message. A 4xx/5xx greeting or an authentication
failure says the relay is unwell or misconfigured, not that the message is bad: transient.
"""

from __future__ import annotations

import asyncio
import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr

import aiosmtplib

from kintsugi.common import metrics
from services.notifier.domain.messages import ComposedMessage
from services.notifier.domain.retry import DeliveryFailure, smtp_failure, transient
from services.notifier.domain.sanitize import header_text, require_single_line


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    use_tls: bool = False  # implicit TLS (port 465)
    start_tls: bool = False
    username: str | None = None
    password: str | None = None
    ehlo_name: str | None = None
    # Each step of connecting (greeting, EHLO, TLS, login), and handing over one message
    # (MAIL to the end of DATA), are bounded by this long.
    timeout_s: float = 10.0
    max_connections: int = 8
    idle_s: float = 30.0  # a connection idle longer is closed rather than reused

    @property
    def name(self) -> str:
        return f"smtp://{self.host}:{self.port}"


@dataclass(slots=True)
class _Connection:
    smtp: aiosmtplib.SMTP
    last_used: float


class SmtpPool:
    def __init__(self, server: SmtpServer) -> None:
        if server.max_connections < 1:
            raise ValueError("max_connections: must be at least 1")
        self.server = server
        self._room = asyncio.Semaphore(server.max_connections)
        self._idle: list[_Connection] = []

    async def send(self, sender: str, recipient: str, raw: bytes) -> None:
        """Hand one message to the relay; raise ``DeliveryFailure`` saying why not."""
        async with self._room:
            connection = self._take_idle()
            reused = connection is not None
            try:
                if connection is None:
                    connection = await self._connect()
                try:
                    await self._transfer(connection.smtp, sender, recipient, raw)
                except aiosmtplib.SMTPServerDisconnected:
                    if not reused:
                        raise
                    # The relay closed an idle connection: nothing was accepted, try fresh.
                    self._discard(connection)
                    connection = await self._connect()
                    await self._transfer(connection.smtp, sender, recipient, raw)
            except BaseException as error:
                if connection is not None:
                    self._discard(connection)
                if isinstance(error, Exception):
                    raise classify(error) from error
                raise
            connection.last_used = time.monotonic()
            self._idle.append(connection)

    async def _transfer(
        self, smtp: aiosmtplib.SMTP, sender: str, recipient: str, raw: bytes
    ) -> None:
        """MAIL, RCPT and DATA under one deadline. Not ``sendmail``: it parses each address
        twice and rescans the message to size it, and a timer per command costs as much
        again - together a fifth of the CPU a message takes. A failure leaves nothing to
        reset: the pool discards the connection."""
        options = []
        if smtp.supports_extension("size"):
            # On the wire every line ends in CRLF; ``build`` ends them in LF.
            size = len(raw) + raw.count(b"\n") - raw.count(b"\r\n")
            options.append(f"SIZE={size}")
        try:
            async with asyncio.timeout(self.server.timeout_s):
                await smtp.mail(sender, options=options, timeout=None)
                await smtp.rcpt(recipient, timeout=None)
                await smtp.data(raw, timeout=None)
        except TimeoutError:
            raise transient(f"SMTP timeout: no answer within {self.server.timeout_s:g} s") from None

    async def check(self) -> bool:
        """Can a connection be opened and greeted now? (readiness detail)"""
        try:
            connection = await self._connect()
        except Exception:
            return False
        self._discard(connection)
        return True

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            self._discard(connection)

    def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.smtp.is_connected and now - connection.last_used < self.server.idle_s:
                return connection
            self._discard(connection)
        return None

    async def _connect(self) -> _Connection:
        s = self.server
        smtp = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.use_tls,
            start_tls=s.start_tls,
            username=s.username,
            password=s.password,
            local_hostname=s.ehlo_name,
            timeout=s.timeout_s,
        )
        await smtp.connect()
        if smtp.is_ehlo_or_helo_needed:
            # Part of connecting, and what says whether the relay takes SIZE.
            try:
                await smtp.ehlo()
            except aiosmtplib.SMTPHeloError:
                await smtp.helo()
        return _Connection(smtp, time.monotonic())

    def _discard(self, connection: _Connection) -> None:
        # close() without QUIT: a broken or stalled peer gets no more of our time.
        connection.smtp.close()


def _encoded_word(value: str) -> str:
    if value.isascii():
        return value
    return Header(value, "utf-8").encode(maxlinelen=10_000)


def classify(error: Exception) -> DeliveryFailure:
    match error:
        case DeliveryFailure():
            return error
        case aiosmtplib.SMTPRecipientsRefused(recipients=[first, *_]):
            return smtp_failure(first.code, first.message, "RCPT")
        case aiosmtplib.SMTPRecipientRefused():
            return smtp_failure(error.code, error.message, "RCPT")
        case aiosmtplib.SMTPSenderRefused():
            return smtp_failure(error.code, error.message, "MAIL")
        case aiosmtplib.SMTPDataError():
            return smtp_failure(error.code, error.message, "DATA")
        case aiosmtplib.SMTPConnectResponseError() | aiosmtplib.SMTPHeloError():
            return transient(f"SMTP {error.code} on connect: {error.message}")
        case aiosmtplib.SMTPAuthenticationError():
            return transient(f"SMTP authentication failed ({error.code}): check the credentials")
        case aiosmtplib.SMTPResponseException():
            return smtp_failure(error.code, error.message, "command")
        case aiosmtplib.SMTPServerDisconnected():
            return transient(f"SMTP server disconnected: {error}")
        case aiosmtplib.SMTPTimeoutError() | TimeoutError():
            return transient(f"SMTP timeout: {error}")
        case aiosmtplib.SMTPException() | OSError():
            return transient(f"SMTP connection failed: {error}")
    return transient(f"SMTP delivery failed: {type(error).__name__}: {error}")


class SmtpEmailSender:
    channel = "email"

    def __init__(
        self,
        pool: SmtpPool,
        *,
        from_address: str,
        from_name: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._pool = pool
        self._from = require_single_line("smtp_from_address", from_address)
        self._from_name = header_text(from_name)
        self._clock = clock
        self._delivery_seconds = metrics.NOTIFICATION_DELIVERY_SECONDS.labels("email")
        self._date: tuple[datetime, str] | None = None

    def destination(self, recipient: str) -> str:
        return self._pool.server.name

    def provider_message_id(self, notification_id: str) -> str:
        """Deterministic, so a re-sent copy carries the same Message-ID as the first."""
        domain = self._from.partition("@")[2] or "kintsugi.invalid"
        return f"<{notification_id}@{domain}>"

    def build(
        self, *, recipient: str, message: ComposedMessage, notification_id: str, complaint_id: str
    ) -> bytes:
        """The message as it goes on the wire (RFC 5322).

        Built directly rather than through ``email.message.EmailMessage``, whose header
        parsing cost about 1 ms a message - most of the pool's time. Every header value is
        one line by construction (``header_text``/``require_single_line``); non-ASCII words
        are RFC 2047-encoded and the body is quoted-printable UTF-8, so the result is
        7-bit clean whatever the relay supports.
        """
        signer = header_text(message.signed_by)
        headers = [
            ("From", formataddr((f"{signer} ({self._from_name})", self._from), "utf-8")),
            ("To", require_single_line("recipient", recipient)),
            ("Subject", _encoded_word(header_text(message.subject))),
            ("Date", self._date_header()),
            ("Message-ID", self.provider_message_id(notification_id)),
            ("X-Kintsugi-Complaint-Id", require_single_line("complaint_id", complaint_id)),
            ("X-Kintsugi-Notification-Id", require_single_line("notification_id", notification_id)),
            ("MIME-Version", "1.0"),
            ("Content-Type", 'text/plain; charset="utf-8"'),
            ("Content-Transfer-Encoding", "quoted-printable"),
        ]
        head = "".join(f"{name}: {value}\n" for name, value in headers).encode("ascii")
        body = binascii.b2a_qp(message.body.replace("\r\n", "\n").encode("utf-8"), istext=True)
        # LF line ends, as ``EmailMessage.as_bytes`` gives: aiosmtplib sends them as CRLF.
        return head + b"\n" + body

    def _date_header(self) -> str:
        """The Date header has whole seconds: formatted once a second, not per message."""
        now = self._clock().replace(microsecond=0)
        if self._date is None or self._date[0] != now:
            self._date = (now, format_datetime(now))
        return self._date[1]

    async def send(
        self, *, recipient: str, message: ComposedMessage, notification_id: str, complaint_id: str
    ) -> str:
        raw = self.build(
            recipient=recipient,
            message=message,
            notification_id=notification_id,
            complaint_id=complaint_id,
        )
        started = time.perf_counter()
        try:
            await self._pool.send(self._from, recipient, raw)
        finally:
            self._delivery_seconds.observe(time.perf_counter() - started)
        return self.provider_message_id(notification_id)
