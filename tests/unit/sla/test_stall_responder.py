"""A stalled partition is rewound to its commit once; stalled again, liveness fails."""

from __future__ import annotations

from typing import Any

from aiokafka.consumer.subscription_state import SubscriptionState
from aiokafka.structs import TopicPartition
from prometheus_client import REGISTRY

from kintsugi.common.ops_server import Health
from services.sla.adapters.stall import StallResponder

TOPIC = "kintsugi.complaint-events.v1"


def rewinds(outcome: str) -> float:
    value = REGISTRY.get_sample_value("kintsugi_sla_partition_rewinds_total", {"outcome": outcome})
    return value or 0.0


class GroupConsumer:
    """Faust's consumer as the responder sees it, over aiokafka's own subscription state:
    ``seek_wait`` seeks each partition as Faust's aiokafka driver does, so a partition the
    group gave to another worker raises aiokafka's ``IllegalStateError``."""

    def __init__(self, assigned: set[int] | None = None) -> None:
        self.subscription = SubscriptionState()
        self.subscription.subscribe({TOPIC})
        self.assign(assigned if assigned is not None else set(range(6)))
        self.seeks: list[dict[Any, int]] = []

    def assign(self, partitions: set[int]) -> None:
        """The group's rebalance: this worker now holds `partitions`."""
        self.subscription.assign_from_subscribed({TopicPartition(TOPIC, p) for p in partitions})

    def assignment(self) -> set[TopicPartition]:
        return set(self.subscription.assigned_partitions())

    async def seek_wait(self, partitions: dict[Any, int]) -> None:
        for tp, offset in partitions.items():
            self.subscription.seek(TopicPartition(tp.topic, tp.partition), offset)
        self.seeks.append(partitions)


class FakeApp:
    def __init__(self, assigned: set[int] | None = None) -> None:
        self.consumer = GroupConsumer(assigned)


async def test_a_first_stall_rewinds_the_partitions_to_their_committed_offsets() -> None:
    app, health = FakeApp(), Health()
    respond = StallResponder(app, TOPIC, health)

    await respond({2: 40, 5: 0})

    (seek,) = app.consumer.seeks
    assert {(tp.topic, tp.partition): offset for tp, offset in seek.items()} == {
        (TOPIC, 2): 40,
        (TOPIC, 5): 0,
    }
    assert health.failure is None


async def test_stalling_again_at_the_same_offset_fails_liveness_naming_the_partition() -> None:
    app, health = FakeApp(), Health()
    respond = StallResponder(app, TOPIC, health)
    rewound, stalled_again = rewinds("rewound"), rewinds("stalled_again")
    await respond({2: 40})

    await respond({2: 40})

    assert (rewinds("rewound"), rewinds("stalled_again")) == (rewound + 1, stalled_again + 1)
    assert len(app.consumer.seeks) == 1
    assert health.failure is not None and "partitions [2]" in health.failure


async def test_a_partition_that_moved_on_and_stalled_later_is_rewound_again() -> None:
    app, health = FakeApp(), Health()
    respond = StallResponder(app, TOPIC, health)
    await respond({2: 40})

    await respond({2: 55})

    assert len(app.consumer.seeks) == 2
    assert health.failure is None


async def test_partitions_another_worker_holds_are_left_to_it() -> None:
    app, health = FakeApp(assigned={3, 4, 5}), Health()
    respond = StallResponder(app, TOPIC, health)

    await respond({0: 6843, 2: 7045, 4: 6918})

    (seek,) = app.consumer.seeks
    assert {tp.partition: offset for tp, offset in seek.items()} == {4: 6918}
    assert health.failure is None


async def test_a_stall_only_on_another_workers_partitions_seeks_nothing() -> None:
    app, health = FakeApp(assigned={0, 1, 2}), Health()
    respond = StallResponder(app, TOPIC, health)

    await respond({3: 9418})

    assert app.consumer.seeks == []
    assert health.failure is None


async def test_a_partition_moved_away_after_its_rewind_does_not_count_as_stalled_again() -> None:
    app, health = FakeApp(assigned={2}), Health()
    respond = StallResponder(app, TOPIC, health)
    await respond({2: 40})
    app.consumer.assign({5})

    await respond({2: 40})

    assert len(app.consumer.seeks) == 1
    assert health.failure is None


class RebalancedBeforeTheSeek(GroupConsumer):
    """The group moves the partitions away between the responder's check and its seek."""

    async def seek_wait(self, partitions: dict[Any, int]) -> None:
        self.assign(set())
        await super().seek_wait(partitions)


async def test_a_rebalance_racing_the_seek_skips_the_rewind_without_crashing() -> None:
    app, health = FakeApp(), Health()
    app.consumer = RebalancedBeforeTheSeek({2})
    respond = StallResponder(app, TOPIC, health)

    await respond({2: 40})

    assert app.consumer.seeks == []
    assert health.failure is None
