"""The stall rule: records waiting on a partition whose commit does not move."""

from __future__ import annotations

import pytest

from kintsugi.common.progress import StallDetector


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
