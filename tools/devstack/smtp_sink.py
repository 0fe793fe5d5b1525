"""Where Postfix's ``smtp-sink`` is: a real MTA's test server for mail-failure drills.

``make smtp-sink-tool`` unpacks it from Debian's postfix package into ``.tools/postfix``
(nothing installed, no mail service started), so tests and benchmarks use it on any
machine of this kind; an installed Postfix is used when there is one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

UNPACKED = Path(__file__).resolve().parents[2] / ".tools" / "postfix" / "smtp-sink"


def smtp_sink_binary() -> str | None:
    """``$SMTP_SINK``, else smtp-sink on the PATH, else Debian's, else the unpacked one."""
    for candidate in (
        os.environ.get("SMTP_SINK"),
        shutil.which("smtp-sink"),
        "/usr/sbin/smtp-sink",
        str(UNPACKED),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None
