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
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
