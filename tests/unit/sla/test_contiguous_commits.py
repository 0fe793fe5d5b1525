"""The sla's Faust consumer commits an offset only once every record before it was
handled: a single record missing is waited for (faust-streaming commits past it), and
nothing is committed while the committed offset is unknown (around a rebalance)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from faust.transport.drivers.aiokafka import Consumer
from faust.types import TP

from services.sla.adapters.faust_app import make_app
from services.sla.adapters.faust_commits import ContiguousCommitConsumer
from services.sla.config import SlaSettings

EVENTS = TP("kintsugi.complaint-events.v1", 3)
CHANGELOG = TP("kintsugi-sla-clocks-changelog", 3)


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


def test_nothing_is_committed_while_the_committed_offset_is_unknown(
    consumer: ContiguousCommitConsumer,
) -> None:
    # Revoked and assigned again, recovery not finished: Faust forgot the committed
    # offset, and a batch from before the rebalance acknowledges 105-110 late. Faust
    # would commit 111 past 100-104, which nobody handled.
    acknowledge(consumer, 0, [105, 106, 107, 108, 109, 110])
    consumer._committed_offset.pop(EVENTS)
    assert Consumer._new_offset(consumer, EVENTS) == 111
    acknowledge(consumer, 0, [105, 106, 107, 108, 109, 110])
    consumer._committed_offset.pop(EVENTS)
    assert consumer._new_offset(EVENTS) is None
    assert consumer._acked[EVENTS] == [105, 106, 107, 108, 109, 110]  # kept for later


@pytest.mark.parametrize(
    ("group_committed", "earliest", "known_as"),
    [
        (57, 0, 57),  # what the group committed
        (0, 0, 0),  # committed 0: Faust stores None
        (None, 0, 0),  # never committed: where an earliest reset starts
        (None, 40, 40),  # ...after retention deleted the start of the log
    ],
)
async def test_the_seek_after_recovery_makes_the_committed_offset_known(
    consumer: ContiguousCommitConsumer,
    monkeypatch: pytest.MonkeyPatch,
    group_committed: int | None,
    earliest: int,
    known_as: int,
) -> None:
    async def seek_to_committed() -> Mapping[TP, int | None]:
        return {EVENTS: group_committed, CHANGELOG: None}

    async def earliest_offsets(*partitions: TP) -> Mapping[TP, int]:
        return {tp: earliest for tp in partitions}

    monkeypatch.setattr(consumer, "seek_to_committed", seek_to_committed)
    monkeypatch.setattr(consumer, "earliest_offsets", earliest_offsets)
    monkeypatch.setattr(consumer, "assignment", lambda: {EVENTS, CHANGELOG})
    consumer.app.topics._acking_topics.add(EVENTS.topic)  # as an agent's topic is

    await consumer.perform_seek()

    assert consumer._committed_offset[EVENTS] == known_as
    assert consumer._committed_offset[CHANGELOG] is None  # no acks, no commits by us
    acknowledge(consumer, known_as, [known_as, known_as + 1])
    assert consumer._new_offset(EVENTS) == known_as + 2
