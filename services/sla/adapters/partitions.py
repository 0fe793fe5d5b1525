"""Which partition a complaint's key lives in, as Kafka's default partitioner decides it.

Our producers and Faust's changelog writes (the clock table uses the partitioner) all send
keyed records without a partition, so murmur2 of the key picks it: a worker owning partition
N of the events topic owns the clocks of exactly the keys this function maps to N.
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_of(key: bytes, partitions: int) -> int:
    return (int(murmur2(key)) & 0x7FFFFFFF) % partitions
