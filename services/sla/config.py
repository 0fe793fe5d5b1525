from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kintsugi.common.settings import ServiceSettings

SHIPPED_POLICIES = Path(__file__).parent / "policies"


class SlaSettings(ServiceSettings):
    """Environment variables start with ``KINTSUGI_SLA_``."""

    model_config = SettingsConfigDict(env_prefix="KINTSUGI_SLA_", extra="ignore")

    app_id: str = Field(default="kintsugi-sla", description="Faust app id (consumer group)")
    ops_port: int = Field(default=9103, ge=0, le=65535)
    # The public API (GET /clocks/{id}) has its own port: the ops port (/metrics, probes,
    # POST /migrations) is for operators and monitoring, not for the API's clients.
    api_host: str = Field(default="0.0.0.0", description="Bind address of GET /clocks/{id}")
    api_port: int = Field(default=8080, ge=0, le=65535, description="Port of GET /clocks/{id}")
    policies_dir: Path = Field(default=SHIPPED_POLICIES, description="YAML policies + calendars")
    # A transition waits up to one interval for its tick. With the due-time index a tick
    # with nothing due is a heap peek, so a short interval costs next to nothing idle, and
    # it keeps p99 lateness near 1 s at 200 complaints/s (bench/sla_faults: 1.8 s at 1 s).
    tick_interval_s: float = Field(default=0.25, gt=0, description="How often clocks are checked")
    batch_wait_s: float = Field(
        default=0.05,
        gt=0,
        description="Longest wait for more events before a partial batch is handled",
    )
    data_dir: Path = Field(
        default=Path(".local/sla"),
        description="Faust's local data folder (RocksDB lives here: a persistent volume)",
    )
    store: Literal["memory", "rocksdb"] = Field(
        default="rocksdb",
        description="Clock table store: rocksdb (local state survives a restart, recovery "
        "reads only the changelog tail) or memory (tests; a restart replays the changelog)",
    )
    standby_replicas: int = Field(
        default=1, ge=0, description="Workers keeping a warm copy of each partition's clocks"
    )
    tick_chunk: int = Field(
        default=500, gt=0, description="Due complaints handled per chunk before intake may go"
    )
    worker_name: str = Field(
        default_factory=socket.gethostname, description="Named in explain answers"
    )
    advertised_url: str = Field(
        default="",
        description="Where other workers reach this one's /clocks (default "
        "http://<worker name or api host>:<api port>); shared through Faust's assignment",
    )
    # Static membership (KIP-345): a worker restarted under the same name (a StatefulSet pod
    # keeps its name) takes its partitions straight back, without waiting for the session
    # timeout of the process it replaces or moving anyone else's partitions.
    static_membership: bool = Field(
        default=False,
        description="Join the group as a static member named by the worker name, which "
        "must then be stable and unique per worker (a StatefulSet pod's host name). A "
        "stopped static worker's partitions move after the session timeout",
    )
    # Faust's own defaults (60 s) keep a crashed worker's partitions unowned for a minute.
    session_timeout_s: float = Field(
        default=15.0, gt=0, description="A silent worker's partitions move after this"
    )
    rebalance_timeout_s: float = Field(
        default=30.0, gt=0, description="How long members have to rejoin a rebalance"
    )
    stall_after_s: float = Field(
        default=60.0,
        gt=0,
        description="Records waiting this long on a partition with no commit: /healthz fails",
    )
    progress_check_interval_s: float = Field(default=15.0, gt=0)

    @property
    def own_url(self) -> str:
        """Bound to every interface, the worker is reached by its name; bound to one
        address (a local stack of several workers), by that address."""
        if self.advertised_url:
            return self.advertised_url
        host = self.worker_name if self.api_host in ("0.0.0.0", "::", "") else self.api_host
        return f"http://{host}:{self.api_port}"

    @property
    def group_instance_id(self) -> str | None:
        return self.worker_name if self.static_membership else None

    @property
    def store_url(self) -> str:
        return f"{self.store}://"
