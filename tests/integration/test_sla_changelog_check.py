"""Against the real broker: the sla accepts its declared changelog and refuses any other."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from kintsugi.common.bootstrap import create_topics
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.topics import SLA_CLOCKS_CHANGELOG, TopicSpec
from services.sla.adapters.topic_check import (
    ChangelogMismatch,
    describe_topic,
    require_declared_changelog,
)


async def _created(settings: KafkaSettings, spec: TopicSpec) -> None:
    await create_topics(settings, (spec,))
    for _ in range(100):  # a new topic's metadata reaches the broker's cache shortly after
        if await describe_topic(settings, settings.topic(spec)) is not None:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{spec.name} never appeared")


async def test_the_declared_changelog_is_accepted(kafka_settings: KafkaSettings) -> None:
    # The session created every declared topic, the sla's changelog among them.
    await require_declared_changelog(kafka_settings, SLA_CLOCKS_CHANGELOG)


async def test_a_changelog_with_other_partitions_and_policy_is_refused_naming_both(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    declared = replace(SLA_CLOCKS_CHANGELOG, name=f"sla-clocks-{unique}")
    live = replace(declared, partitions=3, cleanup_policy="delete")
    await _created(kafka_settings, live)

    with pytest.raises(ChangelogMismatch) as refused:
        await require_declared_changelog(kafka_settings, declared)

    message = str(refused.value)
    assert "partitions is 3 on the broker, 6 in topics.py" in message
    assert "cleanup.policy is 'delete' on the broker, 'compact' in topics.py" in message


async def test_a_missing_changelog_is_refused(kafka_settings: KafkaSettings, unique: str) -> None:
    missing = replace(SLA_CLOCKS_CHANGELOG, name=f"sla-clocks-missing-{unique}")
    with pytest.raises(ChangelogMismatch, match="does not exist"):
        await require_declared_changelog(kafka_settings, missing, missing_grace_s=1.0)
