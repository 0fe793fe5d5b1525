"""The sla's Faust consumer commits an offset only once every record before it was
handled: a single record missing is waited for (faust-streaming commits past it)."""

from __future__ import annotations

import pytest
from faust.transport.drivers.aiokafka import Consumer
from faust.types import TP

from services.sla.adapters.faust_app import make_app
from services.sla.adapters.faust_commits import ContiguousCommitConsumer
from services.sla.config import SlaSettings

EVENTS = TP("kintsugi.complaint-events.v1", 3)


@pytest.fixture
def consumer() -> ContiguousCommitConsumer:
    app = make_app(SlaSettings())
    built = app.consumer
    assert isinstance(built, ContiguousCommitConsumer)
    return built


def acknowledge(consumer: Consumer, committed: int, acked: list[int]) -> None:
    consumer._committed_offset[EVENTS] = committed
    consumer._acked[EVENTS] = list(acked)
    consumer._acked_index[EVENTS] = set(acked)


@pytest.mark.parametrize(
    ("committed", "acked", "commit"),
    [
        (10, [10, 11, 12], 13),  # all handled: the run is committed
        (10, [11, 12], None),  # offset 10 never handled (Faust itself would commit 13)
        (10, [12, 13], None),  # two missing: Faust waits too
        (10, [10, 11, 13], 12),  # up to the hole
        (12, [13], None),  # ...and not across it afterwards (Faust: 14)
    ],
)
def test_the_commit_waits_for_the_committed_offset_to_be_handled(
    consumer: ContiguousCommitConsumer, committed: int, acked: list[int], commit: int | None
) -> None:
    acknowledge(consumer, committed, acked)
    assert consumer._new_offset(EVENTS) == commit


def test_a_gap_faust_saw_in_the_fetched_offsets_does_not_hold_the_commit(
    consumer: ContiguousCommitConsumer,
) -> None:
    acknowledge(consumer, 10, [11, 12])
    consumer._gap[EVENTS].addi(10, 11)  # no record at 10 (compacted, a transaction marker)
    assert consumer._new_offset(EVENTS) == 13


def test_faust_alone_commits_past_a_single_missing_record(
    consumer: ContiguousCommitConsumer,
) -> None:
    # Why the override exists (upstream #606). When this fails, Faust has fixed it and
    # services/sla/adapters/faust_commits.py can go.
    acknowledge(consumer, 10, [11, 12])
    assert Consumer._new_offset(consumer, EVENTS) == 13
