"""Failure modes against Postfix's smtp-sink, a real MTA test server (skipped without it).

smtp-sink rejects chosen commands with 4xx (-r) or 5xx (-f), drops the connection after
one (-q), or waits before answering (-W). Each must reach the notifier as a mail server
means it: greylisting on RCPT is transient, a 5xx is permanent, a drop or stall transient.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from services.notifier.domain.retry import DeliveryFailure, FailureKind
from tests.integration.test_notifier_smtp import email_sender, send
from tools.devstack.processes import free_port
from tools.devstack.smtp_sink import smtp_sink_command

SMTP_SINK = smtp_sink_command()
pytestmark = pytest.mark.skipif(
    SMTP_SINK is None, reason="Postfix smtp-sink not found (make smtp-sink-tool)"
)


@pytest.fixture
def sink(request: pytest.FixtureRequest) -> Iterator[int]:
    port = free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    args: list[str] = list(getattr(request, "param", []))
    assert SMTP_SINK is not None
    process = subprocess.Popen(
        [*SMTP_SINK, *user, *args, f"127.0.0.1:{port}", "64"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("smtp-sink did not start")
        time.sleep(0.05)
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_a_message_is_accepted(sink: int) -> None:
    assert (await send(email_sender(sink))).startswith("<n-1@")


@pytest.mark.parametrize(
    ("sink", "kind", "stage"),
    [
        (["-r", "RCPT"], FailureKind.TRANSIENT, "RCPT"),  # greylisting
        (["-f", "RCPT"], FailureKind.PERMANENT, "RCPT"),
        (["-r", "MAIL"], FailureKind.TRANSIENT, "MAIL"),
        (["-r", "DATA"], FailureKind.TRANSIENT, "DATA"),
        (["-r", "."], FailureKind.TRANSIENT, "DATA"),
        (["-f", "."], FailureKind.PERMANENT, "DATA"),
        (["-q", "DATA"], FailureKind.TRANSIENT, "disconnected"),
        (["-Q", "RCPT"], FailureKind.TRANSIENT, "RCPT"),
        (["-r", "CONNECT"], FailureKind.TRANSIENT, "connect"),
        (["-W", ".:5"], FailureKind.TRANSIENT, "timeout"),
    ],
    indirect=["sink"],
)
async def test_each_refusal_is_classified_as_the_mail_server_means_it(
    sink: int, kind: FailureKind, stage: str
) -> None:
    with pytest.raises(DeliveryFailure) as failure:
        await send(email_sender(sink, timeout_s=1.0))

    assert failure.value.kind is kind, failure.value.reason
    assert stage in failure.value.reason
