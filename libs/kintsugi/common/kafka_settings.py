"""Kafka connection settings shared by every service: where the cluster is, how to log in."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal

from aiokafka.helpers import create_ssl_context
from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kintsugi.common.topics import TopicSpec

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


def _env(name: str, field: str) -> AliasChoices:
    return AliasChoices(name, field)


def _read_secret(path: Path) -> str:
    """A mounted secret's value; Kubernetes writes it verbatim, editors add a newline."""
    try:
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as error:
        problem = f"cannot read {path}: {error.strerror}"
        raise ValueError(f"KAFKA_SASL_PASSWORD_FILE: {problem}") from None
    if not value:
        raise ValueError(f"KAFKA_SASL_PASSWORD_FILE: {path} is empty")
    return value


class KafkaSettings(BaseSettings):
    """Read from un-prefixed env, so one set of variables points every service at a cluster.

    The security settings match Strimzi's listeners: TLS (``SSL``, optionally with a client
    certificate from a KafkaUser), and SASL SCRAM or PLAIN over TLS (``SASL_SSL``).
    """

    model_config = SettingsConfigDict(extra="ignore")

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=_env("KAFKA_BOOTSTRAP_SERVERS", "bootstrap_servers"),
        description="Comma-separated host:port list of the Kafka cluster",
    )
    security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT", validation_alias=_env("KAFKA_SECURITY_PROTOCOL", "security_protocol")
    )
    sasl_mechanism: SaslMechanism | None = Field(
        default=None, validation_alias=_env("KAFKA_SASL_MECHANISM", "sasl_mechanism")
    )
    sasl_username: str | None = Field(
        default=None, validation_alias=_env("KAFKA_SASL_USERNAME", "sasl_username")
    )
    sasl_password: SecretStr | None = Field(
        default=None, validation_alias=_env("KAFKA_SASL_PASSWORD", "sasl_password")
    )
    sasl_password_file: Path | None = Field(
        default=None,
        validation_alias=_env("KAFKA_SASL_PASSWORD_FILE", "sasl_password_file"),
        description="File holding the SASL password, e.g. the `password` key of the Secret "
        "Strimzi creates for a KafkaUser, mounted as a volume (read once, at start)",
    )
    ssl_cafile: Path | None = Field(
        default=None,
        validation_alias=_env("KAFKA_SSL_CAFILE", "ssl_cafile"),
        description="CA bundle that signed the brokers' certificates (default: system CAs)",
    )
    ssl_certfile: Path | None = Field(
        default=None, validation_alias=_env("KAFKA_SSL_CERTFILE", "ssl_certfile")
    )
    ssl_keyfile: Path | None = Field(
        default=None, validation_alias=_env("KAFKA_SSL_KEYFILE", "ssl_keyfile")
    )
    topic_replication_factor: int = Field(
        default=1,
        ge=1,
        validation_alias=_env("KINTSUGI_TOPIC_REPLICATION_FACTOR", "topic_replication_factor"),
    )
    topic_prefix: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9._-]*$",
        validation_alias=_env("KINTSUGI_TOPIC_PREFIX", "topic_prefix"),
        description="Prefix of every topic name: several environments can share a cluster",
    )

    @model_validator(mode="after")
    def _credentials_match_protocol(self) -> KafkaSettings:
        if self.sasl_password_file is not None:
            if self.sasl_password is not None:
                raise ValueError("set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both")
            self.sasl_password = SecretStr(_read_secret(self.sasl_password_file))
        if self.uses_sasl and not (
            self.sasl_mechanism and self.sasl_username and self.sasl_password
        ):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs KAFKA_SASL_MECHANISM, "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)"
            )
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together")
        return self

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def topic(self, spec: TopicSpec) -> str:
        return self.topic_prefix + spec.name

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.uses_tls:
            return None
        context: ssl.SSLContext = create_ssl_context(
            cafile=str(self.ssl_cafile) if self.ssl_cafile else None,
            certfile=str(self.ssl_certfile) if self.ssl_certfile else None,
            keyfile=str(self.ssl_keyfile) if self.ssl_keyfile else None,
        )
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments every aiokafka client (producer, consumer, admin) takes."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context()
        if self.uses_sasl:
            assert self.sasl_password is not None  # checked by the validator
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password.get_secret_value()
        return options
