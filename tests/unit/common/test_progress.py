"""The stall rule: records waiting on a partition whose commit does not move."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from kintsugi.common.progress import StallDetector, watch_progress

Reading = tuple[dict[int, int], dict[int, int]] | None  # None: the broker did not answer


@pytest.mark.parametrize(
    ("observations", "stalled"),
    [
        # (committed, ends, now) readings, in order; the last reading's verdict is checked.
        ([({0: 5}, {0: 5}, 0), ({0: 5}, {0: 5}, 100)], []),  # caught up: never stalled
        ([({0: 3}, {0: 5}, 0), ({0: 4}, {0: 6}, 100)], []),  # behind but moving
        ([({0: 3}, {0: 5}, 0), ({0: 3}, {0: 5}, 59)], []),  # not yet past the grace period
        ([({0: 3}, {0: 5}, 0), ({0: 3}, {0: 5}, 60)], [0]),  # stuck for 60 s
        ([({}, {0: 2}, 0), ({}, {0: 2}, 60)], [0]),  # never committed, records waiting
        ([({0: 3, 1: 9}, {0: 5, 1: 9}, 0), ({0: 3, 1: 9}, {0: 5, 1: 12}, 60)], [0]),
    ],
)
def test_a_partition_is_stalled_only_when_records_wait_and_nothing_moves(
    observations: list[tuple[dict[int, int], dict[int, int], float]], stalled: list[int]
) -> None:
    detector = StallDetector(stall_after_s=60)
    verdict: list[int] = []
    for committed, ends, now in observations:
        verdict = detector.observe(committed, ends, now)
    assert verdict == stalled


def test_a_rebalance_gives_the_new_owner_a_fresh_grace_period() -> None:
    detector = StallDetector(stall_after_s=60)
    detector.observe({0: 3}, {0: 5}, 0)
    detector.reset()
    assert detector.observe({0: 3}, {0: 5}, 70) == []
    assert detector.observe({0: 3}, {0: 5}, 130) == [0]


class ScriptedProbe:
    """Readings in order, each at its instant on the test's clock; then the watch stops."""

    def __init__(self, script: list[tuple[float, Reading]]) -> None:
        self._script: Iterator[tuple[float, Reading]] = iter(script)
        self.now = 0.0
        self.finished = asyncio.Event()

    async def read(self) -> tuple[dict[int, int], dict[int, int]]:
        step = next(self._script, None)
        if step is None:
            self.finished.set()
            await asyncio.Event().wait()  # cancelled by the test
        assert step is not None
        self.now, reading = step
        if reading is None:
            raise ConnectionError("broker away")
        return reading


async def stalls_reported(script: list[tuple[float, Reading]]) -> list[dict[int, int]]:
    probe = ScriptedProbe(script)
    reported: list[dict[int, int]] = []

    async def on_stalled(stalled: dict[int, int]) -> None:
        reported.append(stalled)

    watch = asyncio.create_task(
        watch_progress(
            probe,  # type: ignore[arg-type]
            StallDetector(stall_after_s=60),
            interval_s=0,
            paused=lambda: False,
            on_stalled=on_stalled,
            clock=lambda: probe.now,
        )
    )
    await asyncio.wait_for(probe.finished.wait(), timeout=5)
    watch.cancel()
    return reported


async def test_a_broker_outage_is_not_a_stall_but_a_stall_after_it_still_is() -> None:
    waiting = ({0: 3}, {0: 5})  # records wait on partition 0; its commit stays at 3
    assert await stalls_reported([(0, waiting), (30, None), (70, waiting)]) == []
    assert await stalls_reported([(0, waiting), (30, None), (70, waiting), (130, waiting)]) == [
        {0: 3}
    ]
    assert await stalls_reported([(0, waiting), (70, waiting)]) == [{0: 3}]  # no outage
