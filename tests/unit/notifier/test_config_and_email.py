"""Notifier settings (secrets from mounted files) and the email as it goes on the wire."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.notifier.adapters.smtp import SmtpEmailSender, SmtpPool, SmtpServer
from services.notifier.config import NotifierSettings
from services.notifier.domain.messages import ComposedMessage

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_the_smtp_password_is_read_from_a_mounted_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret-from-file\n")
    monkeypatch.setenv("KINTSUGI_NOTIFIER_SMTP_PASSWORD_FILE", str(secret))

    settings = NotifierSettings()

    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "s3cret-from-file"
    assert "s3cret" not in repr(settings)


def test_an_unreadable_password_file_is_refused_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KINTSUGI_NOTIFIER_SMTP_PASSWORD_FILE", str(tmp_path / "missing"))

    with pytest.raises(ValidationError, match="smtp_password_file: cannot read"):
        NotifierSettings()


def test_a_password_and_a_password_file_together_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "p").write_text("x")
    monkeypatch.setenv("KINTSUGI_NOTIFIER_SMTP_PASSWORD_FILE", str(tmp_path / "p"))
    monkeypatch.setenv("KINTSUGI_NOTIFIER_SMTP_PASSWORD", "y")

    with pytest.raises(ValidationError, match="either it or smtp_password"):
        NotifierSettings()


def sender(from_name: str = "Kintsugi Financial") -> SmtpEmailSender:
    pool = SmtpPool(SmtpServer("127.0.0.1", 1))
    return SmtpEmailSender(
        pool, from_address="complaints@kintsugi.example", from_name=from_name, clock=lambda: WHEN
    )


def test_the_email_has_a_real_date_a_stable_message_id_and_no_injected_headers() -> None:
    message = ComposedMessage(
        subject="Your complaint\r\nBcc: victim@example.com",
        body="Dear Jane,\n\nHello.\n",
        signed_by="Mei\r\nBcc: other@example.com",
    )
    email = sender("Kintsugi\nFinancial").build(
        recipient="jane@example.com", message=message, notification_id="n-1", complaint_id="c-1"
    )
    parsed = message_from_bytes(email, policy=policy.default)

    assert parsed["Bcc"] is None
    assert parsed["Date"] == "Mon, 02 Mar 2026 09:30:00 +0000"
    assert parsed["Message-ID"] == "<n-1@kintsugi.example>"
    assert parsed["Subject"] == "Your complaint Bcc: victim@example.com"
    assert parsed["From"].addresses[0].addr_spec == "complaints@kintsugi.example"
    assert parsed.get_content() == "Dear Jane,\n\nHello.\n"


def test_non_ascii_names_subjects_and_bodies_survive_the_wire() -> None:
    message = ComposedMessage("Réclamation 5F0C", "Chère Zoë,\n\n" + "é" * 300 + "\n", "Siân Jones")
    raw = sender().build(
        recipient="zoe@example.com", message=message, notification_id="n", complaint_id="c"
    )
    parsed = message_from_bytes(raw, policy=policy.default)

    assert raw.isascii() and max(len(line) for line in raw.split(b"\n")) <= 998
    assert parsed["Subject"] == "Réclamation 5F0C"
    assert parsed["From"].addresses[0].display_name == "Siân Jones (Kintsugi Financial)"
    assert parsed.get_content() == "Chère Zoë,\n\n" + "é" * 300 + "\n"


def test_a_recipient_with_a_line_break_is_refused() -> None:
    message = ComposedMessage("s", "b", "Mei")
    with pytest.raises(ValueError, match="recipient"):
        sender().build(
            recipient="a@b.test\r\nBcc: c@d.test",
            message=message,
            notification_id="n",
            complaint_id="c",
        )
