"""Start, await and stop Kintsugi's service processes (used by ``make up`` and e2e tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVICE_NAMES = ("intake", "router", "sla", "notifier")


def instance_name(service: str, replica: int) -> str:
    """The first replica keeps the service's own name (``router``), so a one-replica stack
    reads as it always did; further ones are numbered (``router-2``)."""
    return service if replica == 1 else f"{service}-{replica}"


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class StackConfig:
    """Everything that differs between one local stack and another (e.g. a test's)."""

    bootstrap_servers: str
    smtp_port: int
    grpc_port: int = 50051
    ops_ports: dict[str, int] = field(
        default_factory=lambda: {"intake": 9101, "router": 9102, "sla": 9103, "notifier": 9104}
    )
    # Prefixes topics, consumer groups and the Faust app id: stacks sharing a cluster
    # (a developer's and a test run's) never see each other.
    topic_prefix: str = ""
    sla_data_dir: Path = Path(".local/sla")
    log_level: str = "INFO"
    # Seconds a partition may hold waiting records without progress before the sla's
    # liveness fails (None: the service's default).
    sla_stall_after_s: float | None = None
    # The router's directory (None: the shipped example).
    router_directory: Path | None = None
    # The sla's policies and calendars (None: the shipped ones), e.g. a test's compressed
    # calendar on which an eight-week clock runs in seconds.
    sla_policies_dir: Path | None = None
    # Any further settings per service, by plain name ({"notifier": {"QUIET_HOURS": ...}}):
    # each becomes KINTSUGI_<SERVICE>_<NAME>.
    service_settings: dict[str, dict[str, str]] = field(default_factory=dict)
    # Processes per service (default one), so that takeovers happen when one dies. Every
    # replica has its own ops port (``ops_ports`` by instance name); further intake
    # replicas their own gRPC port (``extra_grpc_ports``); sla workers their own data
    # folder and, through their ops port, their own advertised URL (decision 16).
    replicas: dict[str, int] = field(default_factory=dict)
    extra_grpc_ports: dict[str, int] = field(default_factory=dict)
    # The sla's public API (GET /clocks), apart from its ops port; workers forward to each
    # other there, so further sla workers have their own (``extra_sla_api_ports``).
    sla_api_port: int = 8080
    extra_sla_api_ports: dict[str, int] = field(default_factory=dict)

    @classmethod
    def on_free_ports(cls, bootstrap_servers: str, topic_prefix: str, **rest: Any) -> StackConfig:
        """A stack beside others on this machine (a test session's, a benchmark's): its
        gRPC and ops ports are whichever are free now."""
        replicas: dict[str, int] = rest.get("replicas", {})
        instances = [
            instance_name(service, n)
            for service in SERVICE_NAMES
            for n in range(1, replicas.get(service, 1) + 1)
        ]
        return cls(
            bootstrap_servers=bootstrap_servers,
            topic_prefix=topic_prefix,
            grpc_port=free_port(),
            ops_ports={name: free_port() for name in instances},
            extra_grpc_ports={
                name: free_port() for name in instances if name.startswith("intake-")
            },
            sla_api_port=free_port(),
            extra_sla_api_ports={
                name: free_port() for name in instances if name.startswith("sla-")
            },
            **rest,
        )

    def instances(self) -> list[tuple[str, str]]:
        """(service, instance name) of every process this stack runs."""
        return [
            (service, instance_name(service, n))
            for service in SERVICE_NAMES
            for n in range(1, self.replicas.get(service, 1) + 1)
        ]

    def grpc_port_of(self, instance: str) -> int:
        return self.grpc_port if instance == "intake" else self.extra_grpc_ports[instance]

    def sla_api_port_of(self, instance: str) -> int:
        return self.sla_api_port if instance == "sla" else self.extra_sla_api_ports[instance]

    def grpc_target(self) -> str:
        """Every intake replica, for a client channel that balances over them (as a
        Kubernetes Service would): ``ipv4:127.0.0.1:p1,127.0.0.1:p2``."""
        ports = [
            self.grpc_port_of(name) for service, name in self.instances() if service == "intake"
        ]
        return "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)

    def env(self, service: str, instance: str | None = None) -> dict[str, str]:
        instance = instance or service
        prefix = f"KINTSUGI_{service.upper()}_"
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "KINTSUGI_TOPIC_PREFIX": self.topic_prefix,
            f"{prefix}OPS_HOST": "127.0.0.1",
            f"{prefix}OPS_PORT": str(self.ops_ports[instance]),
            f"{prefix}LOG_LEVEL": self.log_level,
            "PYTHONUNBUFFERED": "1",
        }
        if service == "sla":
            env[f"{prefix}APP_ID"] = f"{self.topic_prefix}kintsugi-sla"
            data_dir = self.sla_data_dir
            if instance != service:  # a worker's RocksDB folder is its own
                replica = instance.removeprefix(f"{service}-")
                data_dir = data_dir.with_name(f"{data_dir.name}-{replica}")
                env[f"{prefix}WORKER_NAME"] = instance
            env[f"{prefix}DATA_DIR"] = str(data_dir)
            # As in the StatefulSet: a worker restarted under its name is the same member.
            env[f"{prefix}STATIC_MEMBERSHIP"] = "true"
            env[f"{prefix}API_HOST"] = "127.0.0.1"
            env[f"{prefix}API_PORT"] = str(self.sla_api_port_of(instance))
            if self.sla_stall_after_s is not None:
                env[f"{prefix}STALL_AFTER_S"] = str(self.sla_stall_after_s)
                env[f"{prefix}PROGRESS_CHECK_INTERVAL_S"] = "2"
        else:
            env[f"{prefix}CONSUMER_GROUP"] = f"{self.topic_prefix}kintsugi-{service}"
        if service == "sla" and self.sla_policies_dir is not None:
            env[f"{prefix}POLICIES_DIR"] = str(self.sla_policies_dir)
        if service == "router" and self.router_directory is not None:
            env[f"{prefix}DIRECTORY_FILE"] = str(self.router_directory)
        if service == "intake":
            env[f"{prefix}GRPC_HOST"] = "127.0.0.1"
            env[f"{prefix}GRPC_PORT"] = str(self.grpc_port_of(instance))
        if service == "notifier":
            env[f"{prefix}SMTP_HOST"] = "127.0.0.1"
            env[f"{prefix}SMTP_PORT"] = str(self.smtp_port)
        for name, value in self.service_settings.get(service, {}).items():
            env[prefix + name] = value
        return env


@dataclass
class ServiceProcess:
    name: str
    process: subprocess.Popen[bytes]
    ops_port: int
    log_path: Path

    def ready(self) -> bool:
        return self._probe("readyz")

    def stuck(self) -> bool:
        """Liveness failed: alive but unable to recover by itself (restart it)."""
        try:
            url = f"http://127.0.0.1:{self.ops_port}/healthz"
            with urllib.request.urlopen(url, timeout=1):
                return False
        except urllib.error.HTTPError as error:
            return error.code == 503
        except (urllib.error.URLError, OSError):
            return False

    def _probe(self, path: str) -> bool:
        try:
            url = f"http://127.0.0.1:{self.ops_port}/{path}"
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            if self.ready():
                return
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready after {timeout_s}s:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM (graceful: finish in-flight work, commit), then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def start_service(
    name: str,
    config: StackConfig,
    log_dir: Path,
    detach: bool = False,
    instance: str | None = None,
) -> ServiceProcess:
    """Service ``name``'s process; ``instance`` names a further replica (``router-2``)."""
    instance = instance or name
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{instance}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            env=config.env(name, instance),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=detach,
        )
    return ServiceProcess(instance, process, config.ops_ports[instance], log_path)


def start_stack(config: StackConfig, log_dir: Path, detach: bool = False) -> list[ServiceProcess]:
    processes = [
        start_service(service, config, log_dir, detach, instance)
        for service, instance in config.instances()
    ]
    try:
        for process in processes:
            process.wait_ready()
    except Exception:
        for process in processes:
            process.stop()
        raise
    return processes
