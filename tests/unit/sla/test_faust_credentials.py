"""The sla worker logs in to Kafka exactly as every other service does."""

from __future__ import annotations

import faust

from kintsugi.common.kafka_settings import KafkaSettings
from services.sla.adapters.faust_app import faust_broker, faust_credentials


def test_plaintext_needs_no_credentials() -> None:
    assert faust_credentials(KafkaSettings()) is None


def test_sasl_over_tls_carries_mechanism_user_and_a_verifying_tls_context() -> None:
    settings = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="kintsugi-sla",
        sasl_password="from-a-secret",
    )
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.username == "kintsugi-sla"
    assert credentials.password == "from-a-secret"
    assert str(credentials.mechanism.value) == "SCRAM-SHA-512"
    assert credentials.ssl_context is not None and credentials.ssl_context.check_hostname


def test_tls_alone_gives_tls_credentials() -> None:
    credentials = faust_credentials(KafkaSettings(security_protocol="SSL"))
    assert isinstance(credentials, faust.SSLCredentials)


def test_every_bootstrap_server_becomes_a_faust_broker_url() -> None:
    assert faust_broker("kafka-0:9092, kafka-1:9092") == [
        "kafka://kafka-0:9092",
        "kafka://kafka-1:9092",
    ]
