"""How to run Postfix's ``smtp-sink``: a real MTA's test server for mail-failure drills.

``make smtp-sink-tool`` unpacks it from Debian's postfix package into ``.tools/postfix``
(nothing installed, no mail service started), so tests and benchmarks use it on any
machine of this kind; an installed Postfix (smtp-sink on the PATH) is used first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

UNPACKED = Path(__file__).resolve().parents[2] / ".tools" / "postfix"


def smtp_sink_command() -> list[str] | None:
    """The command that starts smtp-sink (arguments follow it), or None when there is none.
    The unpacked binary finds its Postfix libraries through ``LD_LIBRARY_PATH``."""
    installed = shutil.which("smtp-sink")
    if installed:
        return [installed]
    unpacked = UNPACKED / "bin" / "smtp-sink"
    if unpacked.exists():
        return ["env", f"LD_LIBRARY_PATH={UNPACKED / 'lib'}", str(unpacked)]
    return None
