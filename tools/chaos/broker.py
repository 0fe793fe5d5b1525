"""The run's own Kafka broker: the one ``make kafka`` assembles, on other ports and data.

Restarting or freezing a broker other people's tests use would break them, so the chaos
run starts its own (tools/kafka/kafka.sh with its own folder and ports) and stops it at
the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from tools.devstack.processes import free_port

KAFKA_SCRIPT = Path(__file__).resolve().parents[1] / "kafka" / "kafka.sh"


class Broker:
    def __init__(self, folder: Path, heap: str = "512m") -> None:
        self.folder = folder
        self.port = free_port()
        self._env = {
            **os.environ,
            "KINTSUGI_LOCAL_DIR": str(folder),
            "KINTSUGI_KAFKA_PORT": str(self.port),
            "KINTSUGI_KAFKA_CONTROLLER_PORT": str(free_port()),
            "KINTSUGI_KAFKA_SASL_PORT": str(free_port()),
            "KINTSUGI_KAFKA_HEAP": heap,
        }

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return int((self.folder / "kafka" / "kafka.pid").read_text())

    def _script(self, command: str) -> None:
        subprocess.run(
            [str(KAFKA_SCRIPT), command],
            env=self._env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def start(self) -> float:
        """Seconds until the broker answers."""
        began = time.monotonic()
        self._script("start")
        return time.monotonic() - began

    def stop(self) -> None:
        """SIGTERM (a controlled shutdown), SIGKILL if it hangs; also when it is frozen."""
        with contextlib.suppress(OSError, ValueError):
            os.kill(self.pid, signal.SIGCONT)
        self._script("stop")

    def restart(self) -> float:
        """Seconds from the stop until the broker answers again."""
        began = time.monotonic()
        self.stop()
        self.start()
        return time.monotonic() - began

    def freeze(self, seconds: float) -> None:
        """SIGSTOP for ``seconds``, then SIGCONT: alive but silent, as a long GC pause or a
        stalled disk looks to its clients."""
        os.kill(self.pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.kill(self.pid, signal.SIGCONT)
