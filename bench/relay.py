"""The baseline every end-to-end figure is compared with: a bare aiokafka one-hop relay.

    python -m bench.relay --source TOPIC --target TOPIC --group GROUP

It does what a Kintsugi consumer must do at the least — fetch a batch, produce each record
to another topic (sent together, awaited together), commit — with the same client settings
as the services (idempotent producer, acks=all, read_committed), and nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from aiokafka import AIOKafkaConsumer

from kintsugi.common.kafka import make_producer
from kintsugi.common.kafka_settings import KafkaSettings


async def relay(source: str, target: str, group: str, max_records: int) -> None:
    kafka = KafkaSettings()
    consumer = AIOKafkaConsumer(
        source,
        **kafka.client_options(),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    producer = make_producer(kafka, "bench-relay")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await consumer.start()
    await producer.start()
    print("ready", flush=True)
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=max_records)
            sends = [
                await producer.send(target, record.value, key=record.key)
                for records in batches.values()
                for record in records
            ]
            if sends:
                await asyncio.gather(*sends)
                await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--max-records", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(relay(args.source, args.target, args.group, args.max_records))


if __name__ == "__main__":
    main()
