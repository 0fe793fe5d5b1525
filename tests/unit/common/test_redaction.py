"""Personal data never reaches a log line: masked in strings, free text withheld."""

from __future__ import annotations

import json
import logging

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from kintsugi.common.logs import configure_logging, get_logger
from kintsugi.common.redaction import WITHHELD, luhn_valid, mask_text, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SMTP 550 for jane.doe@example.com", "SMTP 550 for [email]"),
        ("<j.o'neil+complaints@mail.example.co.uk>", "<[email]>"),
        ("call +447700900123 today", "call [phone] today"),
        ("call +44 7700 900123 today", "call [phone] today"),
        ("mobile 07700 900123", "mobile [phone]"),
        ("landline 020 7946 0000.", "landline [phone]."),
        ("US +1 415-555-0100", "US [phone]"),
        ("card 4111 1111 1111 1111 declined", "card [card] declined"),
        ("card 4111-1111-1111-1111", "card [card]"),
        ("pan=5555555555554444", "pan=[card]"),
        ("amex 378282246310005", "amex [card]"),
        ("IBAN GB82 WEST 1234 5698 7654 32", "IBAN [iban]"),
        ("iban=DE89370400440532013000", "iban=[iban]"),
        ("sort code 12-34-56 account 12345678", "sort code [bank account]"),
        ("sort code 12-34-56", "sort code [bank account]"),
        ("account number: 87654321", "[bank account]"),
    ],
)
def test_contact_and_account_details_are_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "offset 1234567 partition 11 lag 0",
        "complaint 7f3a0b2c9d1e4f5a6b7c8d9e0f1a2b3c",
        "received_at 2025-03-14T16:58:00+00:00",
        "4111111111111112 fails the Luhn check so it is no card",
        "GB00 WEST 1234 5698 7654 32 fails the IBAN check",
        "took 12.345678 seconds",
        "version 1.2.3 on port 50051",
    ],
)
def test_operational_numbers_survive(text: str) -> None:
    assert mask_text(text) == text


def test_free_text_fields_are_withheld_wherever_they_are_nested() -> None:
    event = {
        "event": "complaint_accepted",
        "description": "My husband died and you charged me",
        "request": {"subject": "Help", "display_name": "Jane Doe", "channel": "email"},
        "attempts": 3,
    }

    assert redact(event) == {
        "event": "complaint_accepted",
        "description": WITHHELD,
        "request": {"subject": WITHHELD, "display_name": WITHHELD, "channel": "email"},
        "attempts": 3,
    }


def luhn_complete(prefix: str) -> str:
    return next(prefix + check for check in "0123456789" if luhn_valid(prefix + check))


card_numbers = st.from_regex(r"[2-6][0-9]{11,17}", fullmatch=True).map(luhn_complete)
separators = st.sampled_from(["", " ", "-"])
filler = st.text(alphabet="abcdefghij XYZ.,:;!?()=", max_size=20)


@given(card=card_numbers, separator=separators, before=filler, after=filler)
def test_no_luhn_valid_card_number_survives(
    card: str, separator: str, before: str, after: str
) -> None:
    grouped = separator.join(card[i : i + 4] for i in range(0, len(card), 4))
    masked = mask_text(f"{before} {grouped} {after}")

    assert card not in masked.replace(" ", "").replace("-", "")


@given(email=st.emails(), before=filler, after=filler)
def test_no_email_address_survives(email: str, before: str, after: str) -> None:
    masked = mask_text(f"{before} {email} {after}")

    assert email not in masked
    assert "@" not in masked


def test_every_log_line_is_redacted_including_library_records_and_tracebacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("test")
    try:
        get_logger("notifier").info(
            "email_failed", recipient="jane.doe@example.com", body="Dear Jane, about your loan"
        )
        logging.getLogger("aiosmtplib").error("rejected RCPT <jane.doe@example.com>")
        try:
            raise RuntimeError("card 4111 1111 1111 1111 refused")
        except RuntimeError:
            get_logger("intake").exception("submit_failed")
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3
    output = json.dumps(lines)
    assert "jane.doe@example.com" not in output
    assert "4111 1111 1111 1111" not in output
    assert "Dear Jane" not in output
    assert lines[0]["recipient"] == "[email]"
    assert lines[0]["body"] == WITHHELD
    assert "[card]" in lines[2]["exception"]
