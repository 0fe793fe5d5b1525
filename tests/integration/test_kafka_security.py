"""Our Kafka clients log in with SASL when told to, and are refused with a wrong password.

Runs against the local broker's SASL/PLAIN listener (tools/kafka/kafka.sh), whose password
is made up per data folder; skipped when the tests use a cluster of their own.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from kintsugi.common.bootstrap import wait_for_cluster
from kintsugi.common.kafka import make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.state_store import CompactedStore
from kintsugi.common.topics import COMPLAINT_PARTITIONS, ROUTER_STATE

ROOT = Path(__file__).resolve().parents[2]
PASSWORD_FILE = ROOT / ".local" / "kafka" / "sasl-password"
SASL_BOOTSTRAP = "127.0.0.1:" + os.environ.get("KINTSUGI_KAFKA_SASL_PORT", "9094")


@pytest.fixture
def sasl_password(kafka_bootstrap: str) -> str:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or not PASSWORD_FILE.exists():
        pytest.skip("no local broker with a SASL listener")
    return PASSWORD_FILE.read_text().strip()


def _sasl(settings: KafkaSettings, password: str) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=SASL_BOOTSTRAP,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="kintsugi",
        sasl_password=password,
        topic_prefix=settings.topic_prefix,
    )


async def test_producer_and_state_store_work_over_sasl(
    kafka_settings: KafkaSettings, sasl_password: str, unique: str
) -> None:
    sasl = _sasl(kafka_settings, sasl_password)
    producer = make_producer(sasl, "test-sasl")
    await producer.start()
    try:
        store = CompactedStore(producer, sasl, sasl.topic(ROUTER_STATE))
        await store.put(f"sasl-{unique}", b"written over SASL")
        restored = CompactedStore(producer, sasl, sasl.topic(ROUTER_STATE))
        await restored.restore(range(COMPLAINT_PARTITIONS))
        assert restored.get(f"sasl-{unique}") == b"written over SASL"
    finally:
        await producer.stop()


async def test_the_password_can_come_from_a_mounted_file(
    kafka_settings: KafkaSettings, sasl_password: str
) -> None:
    # As on Kubernetes, where the KafkaUser's Secret is mounted and only its path is set.
    from_file = KafkaSettings(
        bootstrap_servers=SASL_BOOTSTRAP,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="kintsugi",
        sasl_password_file=PASSWORD_FILE,
    )
    async with asyncio.timeout(30):
        await wait_for_cluster(from_file, timeout_s=20)


async def test_a_wrong_password_is_refused(
    kafka_settings: KafkaSettings, sasl_password: str
) -> None:
    wrong = _sasl(kafka_settings, sasl_password + "-wrong")
    with pytest.raises((TimeoutError, KafkaError)):
        async with asyncio.timeout(20):
            await wait_for_cluster(wrong, timeout_s=5)


def test_sasl_without_credentials_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME"):
        KafkaSettings(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512")
