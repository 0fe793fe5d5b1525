"""The sla refuses a changelog topic that disagrees with topics.py, naming both values."""

from __future__ import annotations

from kintsugi.common.topics import sla_faust_topics
from services.sla.adapters.topic_check import LiveTopic, disagreements

CHANGELOG = sla_faust_topics()[0]
NAME = CHANGELOG.name


def test_the_declared_topic_passes() -> None:
    live = LiveTopic(NAME, CHANGELOG.partitions, "compact")
    assert disagreements(NAME, CHANGELOG, live) == []


def test_a_missing_topic_is_refused_with_how_to_create_it() -> None:
    (problem,) = disagreements(NAME, CHANGELOG, None)
    assert NAME in problem and "does not exist" in problem and "compact" in problem


def test_another_partition_count_names_both() -> None:
    (problem,) = disagreements(NAME, CHANGELOG, LiveTopic(NAME, 12, "compact"))
    assert "12 on the broker" in problem and "6 in topics.py" in problem


def test_a_deleting_changelog_names_both_policies() -> None:
    (problem,) = disagreements(NAME, CHANGELOG, LiveTopic(NAME, 6, "delete"))
    assert "'delete' on the broker" in problem and "'compact' in topics.py" in problem
