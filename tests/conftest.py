"""Session fixtures: a real Kafka broker and topics private to this test session.

If KAFKA_BOOTSTRAP_SERVERS is set, that cluster is used and nothing is started. Otherwise
a broker already answering on 127.0.0.1:9092 (e.g. from ``make up``) is reused, and if
there is none the local one is started for the session and stopped afterwards.
Every session creates its own prefixed topics, so runs never see each other's events.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kintsugi.common.bootstrap import wait_for_cluster
from kintsugi.common.kafka_settings import KafkaSettings
from tools.devstack.topics import own_topics

ROOT = Path(__file__).resolve().parent.parent
LOCAL_BOOTSTRAP = "127.0.0.1:9092"


def _answers(bootstrap: str) -> bool:
    try:
        asyncio.run(wait_for_cluster(KafkaSettings(bootstrap_servers=bootstrap), timeout_s=3))
    except TimeoutError:
        return False
    return True


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    if _answers(LOCAL_BOOTSTRAP):
        yield LOCAL_BOOTSTRAP
        return
    kafka = ROOT / "tools" / "kafka" / "kafka.sh"
    subprocess.run([str(kafka), "start"], check=True, cwd=ROOT)
    try:
        yield LOCAL_BOOTSTRAP
    finally:
        subprocess.run([str(kafka), "stop"], check=False, cwd=ROOT)


@pytest.fixture(scope="session")
async def kafka_settings(kafka_bootstrap: str) -> AsyncIterator[KafkaSettings]:
    """Settings whose topic names carry a prefix unique to this session."""
    async with own_topics(kafka_bootstrap) as settings:
        yield settings


@pytest.fixture
async def isolated_kafka(kafka_bootstrap: str) -> AsyncIterator[KafkaSettings]:
    """Topics of this test alone: for tests that count what every consumer of the topic
    does (the session's e2e stack would react to their events too)."""
    async with own_topics(kafka_bootstrap) as settings:
        yield settings


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:12]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.path)
        if f"{os.sep}integration{os.sep}" in path:
            item.add_marker(pytest.mark.integration)
        elif f"{os.sep}e2e{os.sep}" in path:
            item.add_marker(pytest.mark.e2e)
