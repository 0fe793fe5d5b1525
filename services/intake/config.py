from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kintsugi.common.settings import ServiceSettings

# The sla's calendars, shipped with the package: intake accepts their jurisdictions only.
SLA_CALENDARS = Path(__file__).resolve().parent.parent / "sla" / "policies" / "calendars.yaml"


class IntakeSettings(ServiceSettings):
    """Environment variables start with ``KINTSUGI_INTAKE_``."""

    model_config = SettingsConfigDict(env_prefix="KINTSUGI_INTAKE_", extra="ignore")

    grpc_host: str = Field(default="0.0.0.0", description="Bind address of the gRPC API")
    grpc_port: int = Field(default=50051, ge=0, le=65535, description="Port of the gRPC API")
    ops_port: int = Field(default=9101, ge=0, le=65535)
    consumer_group: str = Field(default="kintsugi-intake")
    consume_raw_topic: bool = Field(
        default=True, description="Also accept SubmitComplaintRequest messages from Kafka"
    )
    claim_wait_s: float = Field(
        default=2.0,
        gt=0,
        description="How long to wait for another replica that claimed the same request "
        "first to publish it, before publishing its (identical) events itself",
    )
    classification_rules_file: Path | None = Field(
        default=None,
        description="Classification rules (YAML, same schema as the shipped "
        "services/intake/classification.yaml); unset: the shipped rules",
    )
    calendars_file: Path = Field(
        default=SLA_CALENDARS,
        description="The sla's calendars.yaml (the same file the sla reads): jurisdictions "
        "without a calendar are refused",
    )
    max_received_age_days: int = Field(
        default=90, ge=1, description="Oldest receipt time accepted, in days before now"
    )
    tokens_file: Path | None = Field(
        default=None,
        description="File of '<source_system> <sha256 hex of token>' lines (a mounted "
        "secret), re-read when it changes. Unset: no authentication (development only)",
    )
    max_in_flight: int = Field(
        default=256, ge=1, description="gRPC calls handled at once; more are UNAVAILABLE"
    )
    max_in_flight_per_source: int = Field(
        default=64,
        ge=1,
        description="gRPC calls of one source_system handled at once; more are UNAVAILABLE, "
        "so a source flooding the API leaves room for the others",
    )
    request_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Longest a call works when the caller's deadline is later or unset",
    )
    retry_after_s: float = Field(
        default=1.0, gt=0, description="Retry hint (google.rpc.RetryInfo) sent with UNAVAILABLE"
    )
