"""Against the real broker: the sla accepts its declared changelog and refuses any other."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.topics import TopicSpec, sla_faust_topics
from services.sla.adapters.topic_check import (
    ChangelogMismatch,
    create_if_missing,
    describe_topic,
    require_declared_changelog,
)

CHANGELOG = sla_faust_topics()[0]


async def _created(settings: KafkaSettings, spec: TopicSpec) -> None:
    await create_if_missing(settings, [spec])
    for _ in range(100):  # a new topic's metadata reaches the broker's cache shortly after
        if await describe_topic(settings, spec.name) is not None:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{spec.name} never appeared")


async def test_a_changelog_created_from_its_declaration_is_accepted(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    (declared,) = sla_faust_topics(f"{kafka_settings.topic_prefix}sla-{unique}")[:1]
    assert await create_if_missing(kafka_settings, [declared]) == [declared.name]
    await require_declared_changelog(kafka_settings, declared)


async def test_a_changelog_with_other_partitions_and_policy_is_refused_naming_both(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    declared = replace(CHANGELOG, name=f"{kafka_settings.topic_prefix}sla-clocks-{unique}")
    live = replace(declared, partitions=3, cleanup_policy="delete")
    await _created(kafka_settings, live)

    with pytest.raises(ChangelogMismatch) as refused:
        await require_declared_changelog(kafka_settings, declared)

    message = str(refused.value)
    assert "partitions is 3 on the broker, 6 in topics.py" in message
    assert "cleanup.policy is 'delete' on the broker, 'compact' in topics.py" in message


async def test_a_missing_changelog_is_refused(kafka_settings: KafkaSettings, unique: str) -> None:
    missing = replace(CHANGELOG, name=f"{kafka_settings.topic_prefix}sla-clocks-missing-{unique}")
    with pytest.raises(ChangelogMismatch, match="does not exist"):
        await require_declared_changelog(kafka_settings, missing, missing_grace_s=1.0)
