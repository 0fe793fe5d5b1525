"""Retry classification and schedule, circuit breaking, sanitising: the delivery rules."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

import aiosmtplib
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifier.adapters.smtp import classify
from services.notifier.domain.breaker import CircuitBreakers, CircuitState
from services.notifier.domain.retry import FailureKind, RetrySchedule, http_failure, smtp_failure
from services.notifier.domain.sanitize import (
    UnsafeHeader,
    body_text,
    header_text,
    require_single_line,
)

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
T, P = FailureKind.TRANSIENT, FailureKind.PERMANENT


@pytest.mark.parametrize(
    ("error", "kind", "stage"),
    [
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(450, "greylisted", "a@b")]
            ),
            T,
            "RCPT",
        ),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(550, "no such user", "a@b")]
            ),
            P,
            "RCPT",
        ),
        (aiosmtplib.SMTPDataError(451, "local error"), T, "DATA"),
        (aiosmtplib.SMTPDataError(554, "rejected as spam"), P, "DATA"),
        (aiosmtplib.SMTPSenderRefused(421, "busy", "us@x"), T, "MAIL"),
        (aiosmtplib.SMTPConnectResponseError(554, "no service"), T, "connect"),
        (aiosmtplib.SMTPAuthenticationError(535, "bad credentials"), T, "authentication"),
        (aiosmtplib.SMTPConnectError("refused"), T, "connection"),
        (aiosmtplib.SMTPServerDisconnected("gone"), T, "disconnected"),
        (aiosmtplib.SMTPReadTimeoutError("slow"), T, "timeout"),
        (ConnectionRefusedError(111, "refused"), T, "connection"),
    ],
)
def test_smtp_failures_are_classified_by_code_and_stage(
    error: Exception, kind: FailureKind, stage: str
) -> None:
    failure = classify(error)

    assert failure.kind is kind
    assert stage in failure.reason


@pytest.mark.parametrize(
    ("status", "kind"), [(429, T), (500, T), (503, T), (408, T), (400, P), (404, P), (410, P)]
)
def test_http_failures_are_classified_by_status(status: int, kind: FailureKind) -> None:
    assert http_failure(status, "x").kind is kind


def test_smtp_4xx_waits_and_5xx_is_final() -> None:
    assert smtp_failure(421, "x", "DATA").kind is T
    assert smtp_failure(552, "x", "DATA").kind is P


@given(st.text(min_size=1, max_size=20), st.integers(min_value=1, max_value=60))
def test_backoff_grows_stays_within_its_bounds_and_is_the_same_on_every_replay(
    notification_id: str, attempt: int
) -> None:
    schedule = RetrySchedule()
    wait = schedule.backoff(notification_id, attempt)
    base = min(schedule.max_backoff, schedule.first_backoff * 2 ** min(attempt - 1, 30))

    assert base * 0.8 <= wait <= base * 1.2
    assert schedule.backoff(notification_id, attempt) == wait


def test_jitter_spreads_a_backlog() -> None:
    waits = {RetrySchedule().backoff(f"n-{i}", 1) for i in range(50)}
    assert len(waits) > 40


def test_no_retry_is_scheduled_past_the_purposes_horizon() -> None:
    schedule = RetrySchedule()
    args = {"notification_id": "n", "purpose": "acknowledgement", "attempt": 10}

    assert schedule.next_attempt(**args, first_tried=NOW, now=NOW + timedelta(hours=1))
    late = NOW + timedelta(hours=23, minutes=55)  # the next wait (about 10 min) is past it
    assert schedule.next_attempt(**args, first_tried=NOW, now=late) is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"first_backoff": timedelta(0)}, "first_backoff"),
        ({"max_backoff": timedelta(seconds=1)}, "max_backoff"),
        ({"jitter_fraction": 1.0}, "jitter_fraction"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        RetrySchedule(**change)  # type: ignore[arg-type]


def test_the_circuit_opens_after_the_threshold_and_half_opens_for_one_probe() -> None:
    breakers = CircuitBreakers(failure_threshold=2, cooldown=timedelta(seconds=30))
    breakers.failed("relay", NOW, "timeout")
    assert breakers.allow("relay", NOW)
    breakers.failed("relay", NOW, "timeout")

    assert breakers.state("relay", NOW) is CircuitState.OPEN
    assert not breakers.allow("relay", NOW + timedelta(seconds=29))
    assert breakers.allow("other-relay", NOW)  # one destination's trouble is its own
    later = NOW + timedelta(seconds=30)
    assert breakers.allow("relay", later)  # the probe
    assert not breakers.allow("relay", later)  # only one
    breakers.failed("relay", later, "timeout")
    assert breakers.state("relay", later) is CircuitState.OPEN
    after = later + timedelta(seconds=30)
    assert breakers.allow("relay", after)
    breakers.succeeded("relay")
    assert breakers.healthy("relay", after)


@given(st.text())
def test_a_header_value_is_always_one_line_without_controls(value: str) -> None:
    cleaned = header_text(value)
    assert "\r" not in cleaned and "\n" not in cleaned
    assert not any(unicodedata.category(ch)[0] == "C" or ch in "\u2028\u2029" for ch in cleaned)


@given(st.text())
def test_a_body_keeps_line_breaks_but_no_other_control_characters(value: str) -> None:
    cleaned = body_text(value)
    assert "\r" not in cleaned
    assert all(ch in "\n\t" or unicodedata.category(ch)[0] != "C" for ch in cleaned)


def test_a_value_we_build_with_a_line_break_is_refused_naming_the_field() -> None:
    with pytest.raises(UnsafeHeader, match="recipient: must be one line"):
        require_single_line("recipient", "a@b.test\r\nBcc: c@d.test")


@given(st.text())
def test_a_value_we_build_is_refused_exactly_when_it_holds_a_break_or_a_control(
    value: str,
) -> None:
    unsafe = any(
        ch in "\r\n\u0085\u2028\u2029" or (ch != "\t" and unicodedata.category(ch)[0] == "C")
        for ch in value
    )
    try:
        require_single_line("notification_id", value)
    except UnsafeHeader:
        assert unsafe
    else:
        assert not unsafe
