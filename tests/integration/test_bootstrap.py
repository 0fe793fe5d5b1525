"""Creating the declared topics on a real broker: done means usable."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from kintsugi.common.bootstrap import create_topics
from kintsugi.common.kafka import topic_partitions
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.topics import ALL_TOPICS


async def test_created_topics_are_visible_with_every_partition_to_a_new_client(
    kafka_bootstrap: str,
) -> None:
    kafka = KafkaSettings(
        bootstrap_servers=kafka_bootstrap, topic_prefix=f"boot-{uuid.uuid4().hex[:8]}."
    )
    created = await create_topics(kafka)
    try:
        assert sorted(created) == sorted(kafka.topic(spec) for spec in ALL_TOPICS)
        consumer = AIOKafkaConsumer(**kafka.client_options(), group_id=None)
        await consumer.start()
        try:
            for spec in ALL_TOPICS:
                found = await topic_partitions(consumer, kafka.topic(spec))
                assert len(found) == spec.partitions, spec.name
        finally:
            await consumer.stop()
        assert await create_topics(kafka) == []  # idempotent
    finally:
        admin = AIOKafkaAdminClient(**kafka.client_options())
        await admin.start()
        try:
            await admin.delete_topics(created)
        finally:
            await admin.close()
