"""Topics of one's own on a shared cluster, for as long as a test or benchmark needs them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka.admin import AIOKafkaAdminClient

from kintsugi.common.bootstrap import create_topics
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.topics import ALL_TOPICS, TopicSpec


@asynccontextmanager
async def own_topics(
    bootstrap_servers: str, label: str = "test", specs: tuple[TopicSpec, ...] = ALL_TOPICS
) -> AsyncIterator[KafkaSettings]:
    """Settings with a fresh topic prefix and ``specs`` created under it; on leaving, every
    topic under that prefix is deleted (those created later by the code under test too)."""
    settings = KafkaSettings(
        bootstrap_servers=bootstrap_servers, topic_prefix=f"{label}-{uuid.uuid4().hex[:10]}."
    )
    await create_topics(settings, specs)
    try:
        yield settings
    finally:
        admin = AIOKafkaAdminClient(**settings.client_options())
        await admin.start()
        try:
            existing = await admin.list_topics()
            mine = [name for name in existing if name.startswith(settings.topic_prefix)]
            if mine:
                await admin.delete_topics(mine)
        finally:
            await admin.close()
