"""A router directory for load and journey runs: the shipped one, with room for everyone."""

from __future__ import annotations

import re
from pathlib import Path

from services.router.config import DEFAULT_DIRECTORY


def write_roomy_directory(target: Path, factor: int = 1000) -> Path:
    """The shipped directory with ``factor`` times each person's capacity, at ``target``.

    Test sessions and benchmarks push thousands of complaints through one stack that never
    resolves them; queueing is the router tests' subject, not theirs."""
    shipped = DEFAULT_DIRECTORY.read_text(encoding="utf-8")
    roomy = re.sub(r"capacity: (\d+)", lambda m: f"capacity: {int(m.group(1)) * factor}", shipped)
    target.write_text(roomy, encoding="utf-8")
    return target
