from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from services.sla.adapters.partitions import partition_of


def test_keys_land_where_the_producers_default_partitioner_puts_them() -> None:
    partitioner = DefaultPartitioner()
    all_partitions = list(range(6))
    for n in range(500):
        key = f"C-{n:05d}".encode()
        assert partition_of(key, 6) == partitioner(key, all_partitions, all_partitions)
