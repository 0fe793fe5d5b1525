"""Kafka connection settings shared by every service."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kintsugi.common.topics import TopicSpec


class KafkaSettings(BaseSettings):
    """Read from un-prefixed env so one variable points every service at a cluster."""

    model_config = SettingsConfigDict(extra="ignore")

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "bootstrap_servers"),
        description="Comma-separated host:port list of the Kafka cluster",
    )
    topic_replication_factor: int = Field(
        default=1,
        ge=1,
        validation_alias=AliasChoices(
            "KINTSUGI_TOPIC_REPLICATION_FACTOR", "topic_replication_factor"
        ),
    )
    topic_prefix: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9._-]*$",
        validation_alias=AliasChoices("KINTSUGI_TOPIC_PREFIX", "topic_prefix"),
        description="Prefix of every topic name: several environments can share a cluster",
    )

    def topic(self, spec: TopicSpec) -> str:
        return self.topic_prefix + spec.name
