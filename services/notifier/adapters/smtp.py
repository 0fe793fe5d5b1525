"""Email delivery over SMTP (aiosmtplib)."""

from __future__ import annotations

import time
from email.message import EmailMessage
from email.utils import formataddr, formatdate

import aiosmtplib

from kintsugi.common import metrics
from services.notifier.domain.messages import ComposedMessage
from services.notifier.service import DeliveryRejected


class SmtpEmailSender:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        from_address: str,
        from_name: str,
        start_tls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self._host = host
        self._port = port
        self._from = from_address
        self._from_name = from_name
        self._start_tls = start_tls
        self._username = username
        self._password = password
        self._timeout = timeout_s

    def message_id_for(self, notification_id: str) -> str:
        """Deterministic, so a re-sent copy carries the same Message-ID as the first."""
        domain = self._from.partition("@")[2] or "kintsugi.invalid"
        return f"<{notification_id}@{domain}>"

    async def send(
        self, *, to: str, message: ComposedMessage, notification_id: str, complaint_id: str
    ) -> str:
        email = EmailMessage()
        email["From"] = formataddr((f"{message.signed_by} ({self._from_name})", self._from))
        email["To"] = to
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = self.message_id_for(notification_id)
        email["X-Kintsugi-Complaint-Id"] = complaint_id
        email["X-Kintsugi-Notification-Id"] = notification_id
        email.set_content(message.body)
        started = time.perf_counter()
        try:
            await aiosmtplib.send(
                email,
                hostname=self._host,
                port=self._port,
                start_tls=self._start_tls,
                username=self._username,
                password=self._password,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as refused:
            raise DeliveryRejected(f"recipient refused by SMTP server: {refused}") from refused
        except aiosmtplib.SMTPResponseException as error:
            if 500 <= error.code < 600:
                raise DeliveryRejected(f"SMTP {error.code}: {error.message}") from error
            raise
        finally:
            metrics.NOTIFICATION_DELIVERY_SECONDS.labels("email").observe(
                time.perf_counter() - started
            )
        return self.message_id_for(notification_id)
