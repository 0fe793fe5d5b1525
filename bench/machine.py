"""What every benchmark report states about the machine it ran on, and shared statistics."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe() -> dict[str, object]:
    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "arch": platform.machine(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
    }


def machine_lines() -> list[str]:
    machine = describe()
    return [
        f"- Machine: {machine['cpu']}, {machine['logical_cores']} logical cores, {machine['arch']}",
        f"- Python: {machine['python']} on {machine['os']}",
    ]


def emit(markdown: str, figures: object, json_path: Path | None) -> None:
    """A benchmark's report: Markdown on stdout, the same figures as JSON if asked."""
    print(markdown)
    if json_path is not None:
        json_path.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")


def percentile(sorted_values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(percent / 100 * (len(sorted_values) - 1)))
    return float(sorted_values[index])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def kafka_broker_pid() -> int | None:
    """The local broker's pid, when one runs on this machine (for its CPU share)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"kafka.Kafka" in (entry / "cmdline").read_bytes():
                return int(entry.name)
        except OSError:
            continue
    return None
