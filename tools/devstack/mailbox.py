"""A local SMTP server (aiosmtpd) that keeps every message it receives.

Used by ``make up`` (messages land as .eml files under .local/mail) and by the tests
(in-process, inspecting ``Mailbox.messages``). Binds to 127.0.0.1 only.

    python -m tools.devstack.mailbox --port 2525 --dir .local/mail
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import signal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tools.devstack.processes import free_port


class Mailbox:
    """aiosmtpd handler: parses and stores each message, optionally to a folder."""

    def __init__(self, folder: Path | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self._folder = folder
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        if self._folder is not None:
            name = f"{len(self.messages):05d}.eml"
            (self._folder / name).write_bytes(raw)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m.get("To", ""))]


def start_mailbox(port: int = 0, folder: Path | None = None) -> tuple[Controller, Mailbox]:
    """Start in a background thread; ``controller.port`` is the bound port."""
    mailbox = Mailbox(folder)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    return controller, mailbox


def main() -> None:
    parser = argparse.ArgumentParser(prog="tools.devstack.mailbox")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--dir", type=Path, default=Path(".local/mail"))
    args = parser.parse_args()
    controller, _ = start_mailbox(args.port, args.dir)
    print(f"mailbox: SMTP on 127.0.0.1:{controller.port}, storing in {args.dir}", flush=True)
    stop = asyncio.Event()

    async def wait() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()

    try:
        asyncio.run(wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
