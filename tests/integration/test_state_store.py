"""The compacted-topic store survives a restart: a new instance restores what was written."""

from __future__ import annotations

from dataclasses import replace

from kintsugi.common.bootstrap import create_topics
from kintsugi.common.kafka import make_producer
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.state_store import CompactedStore
from kintsugi.common.topics import COMPLAINT_PARTITIONS, ROUTER_STATE


async def test_a_restarted_store_restores_latest_values_and_deletions(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    # A topic of its own, declared like the router's: the services' topics stay clean.
    spec = replace(ROUTER_STATE, name=f"store-test-{unique}")
    await create_topics(kafka_settings, (spec,))
    topic = kafka_settings.topic(spec)
    producer = make_producer(kafka_settings, "test")
    await producer.start()
    try:
        first = CompactedStore(producer, kafka_settings, topic)
        keys = [f"{unique}-{n}" for n in range(20)]
        for key in keys:
            await first.put(key, b"v1")
        await first.put(keys[0], b"v2")
        await first.put(keys[1], None)

        second = CompactedStore(producer, kafka_settings, topic)
        read = await second.restore(range(COMPLAINT_PARTITIONS))

        assert read >= len(keys) + 2
        assert second.get(keys[0]) == b"v2"
        assert second.get(keys[1]) is None
        assert all(second.get(key) == b"v1" for key in keys[2:])

        second.forget(range(COMPLAINT_PARTITIONS))
        assert second.get(keys[2]) is None
    finally:
        await producer.stop()
