"""Wait for a Kafka cluster and create Kintsugi's topics from their declarations.

python -m kintsugi.common.bootstrap wait [--timeout 60]
python -m kintsugi.common.bootstrap create-topics
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from kintsugi.common.kafka import topic_partitions
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.topics import ALL_TOPICS, TopicSpec


async def wait_for_cluster(settings: KafkaSettings, timeout_s: float) -> list[str]:
    """Return the cluster's topic names once an admin client can list them."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        admin = AIOKafkaAdminClient(**settings.client_options(), request_timeout_ms=3000)
        try:
            await admin.start()
            return list(await admin.list_topics())
        except (KafkaError, OSError) as error:
            last_error = error
        finally:
            await admin.close()
        await asyncio.sleep(0.5)
    raise TimeoutError(
        f"Kafka at {settings.bootstrap_servers} not ready after {timeout_s}s: {last_error!r}"
    )


async def create_topics(
    settings: KafkaSettings, specs: tuple[TopicSpec, ...] = ALL_TOPICS
) -> list[str]:
    """Create whichever declared topics are missing; return the names created."""
    existing = set(await wait_for_cluster(settings, timeout_s=60))
    missing = [spec for spec in specs if settings.topic(spec) not in existing]
    if not missing:
        return []
    admin = AIOKafkaAdminClient(**settings.client_options())
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    name=settings.topic(spec),
                    num_partitions=spec.partitions,
                    replication_factor=settings.topic_replication_factor,
                    topic_configs=spec.config(settings.topic_replication_factor),
                )
                for spec in missing
            ]
        )
    finally:
        await admin.close()
    await _until_visible(settings, missing)
    return [settings.topic(spec) for spec in missing]


async def _until_visible(
    settings: KafkaSettings, specs: list[TopicSpec], timeout_s: float = 30
) -> None:
    """New topics reach the cluster metadata a moment after creation. A consumer group
    that joins before then is given no partitions and sits idle, and a reader of the whole
    topic finds none: return only once every created topic shows all its partitions."""
    consumer = AIOKafkaConsumer(**settings.client_options(), group_id=None)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        for spec in specs:
            while len(await topic_partitions(consumer, settings.topic(spec))) < spec.partitions:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"topic {settings.topic(spec)} never became visible")
                await asyncio.sleep(0.2)
    finally:
        await consumer.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kintsugi.common.bootstrap")
    parser.add_argument("command", choices=["wait", "create-topics"])
    parser.add_argument("--bootstrap", help="overrides KAFKA_BOOTSTRAP_SERVERS")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    settings = KafkaSettings()
    if args.bootstrap:
        settings = settings.model_copy(update={"bootstrap_servers": args.bootstrap})
    try:
        if args.command == "wait":
            asyncio.run(wait_for_cluster(settings, args.timeout))
        else:
            created = asyncio.run(create_topics(settings))
            for name in created:
                print(f"created topic {name}")
    except TimeoutError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
