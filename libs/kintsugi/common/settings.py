"""Settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kintsugi.common.kafka_settings import KafkaSettings


class ServiceSettings(BaseSettings):
    """Common knobs. A subclass sets ``env_prefix`` (e.g. ``KINTSUGI_INTAKE_``)."""

    model_config = SettingsConfigDict(extra="ignore")

    log_level: str = Field(default="INFO", description="Python log level name")
    library_log_level: str = Field(
        default="WARNING", description="Log level of the Kafka/Faust client libraries"
    )
    ops_host: str = Field(default="0.0.0.0", description="Bind address of /metrics and probes")
    ops_port: int = Field(default=9100, ge=0, le=65535, description="Port of /metrics and probes")
    consumer_group: str = Field(default="", description="Kafka consumer group; service default")
    shutdown_grace_s: float = Field(default=20.0, gt=0, description="Time to finish in-flight work")
    consumer_max_records: int = Field(
        default=500, ge=1, description="Records fetched and handled together as one batch"
    )
    consumer_max_concurrency: int = Field(
        default=100, ge=1, description="Complaints of a batch handled at the same time"
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
