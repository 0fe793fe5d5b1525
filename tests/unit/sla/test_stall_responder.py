"""A stalled partition is rewound to its commit once; stalled again, liveness fails."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY

from kintsugi.common.ops_server import Health
from services.sla.adapters.stall import StallResponder

TOPIC = "kintsugi.complaint-events.v1"


def rewinds(outcome: str) -> float:
    value = REGISTRY.get_sample_value("kintsugi_sla_partition_rewinds_total", {"outcome": outcome})
    return value or 0.0


class FakeConsumer:
    def __init__(self) -> None:
        self.seeks: list[dict[Any, int]] = []

    async def seek_wait(self, partitions: dict[Any, int]) -> None:
        self.seeks.append(partitions)


class FakeApp:
    def __init__(self) -> None:
        self.consumer = FakeConsumer()


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
