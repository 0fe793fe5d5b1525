"""The sla's Faust topics must be the ones topics.py declares, or the sla won't start.

Faust would otherwise create a missing changelog itself, with its own settings, behind the
operators' back; and a changelog with another partition count than the events topic, or
without compaction, silently breaks co-partitioning or loses state to retention. A missing
declared topic is created from its declaration (as ``bootstrap create-topics`` creates the
others; in Kubernetes the KafkaTopic exists first); one that exists must agree with it.
The sla's Faust topics are named after its app id, which already carries any prefix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from kintsugi.common.bootstrap import create_topics
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.topics import TopicSpec

UNKNOWN_TOPIC_OR_PARTITION = 3


class ChangelogMismatch(RuntimeError):
    """The live changelog topic is missing or disagrees with its declaration."""


@dataclass(frozen=True, slots=True)
class LiveTopic:
    name: str
    partitions: int
    cleanup_policy: str


def disagreements(declared_name: str, spec: TopicSpec, live: LiveTopic | None) -> list[str]:
    """What differs between the declaration and the live topic, each naming both values."""
    if live is None:
        return [
            f"topic {declared_name} does not exist; create it from its declaration "
            f"({spec.partitions} partitions, cleanup.policy={spec.cleanup_policy}) with "
            "`python -m kintsugi.common.bootstrap create-topics` or the Strimzi manifests"
        ]
    problems = []
    if live.partitions != spec.partitions:
        problems.append(
            f"topic {declared_name}: partitions is {live.partitions} on the broker, "
            f"{spec.partitions} in topics.py"
        )
    if _policies(live.cleanup_policy) != _policies(spec.cleanup_policy):
        problems.append(
            f"topic {declared_name}: cleanup.policy is {live.cleanup_policy!r} on the broker, "
            f"{spec.cleanup_policy!r} in topics.py"
        )
    return problems


async def describe_topic(settings: KafkaSettings, name: str) -> LiveTopic | None:
    admin = AIOKafkaAdminClient(**settings.client_options())
    await admin.start()
    try:
        (described,) = await admin.describe_topics([name])
        if described["error_code"] == UNKNOWN_TOPIC_OR_PARTITION:
            return None
        (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        entries = response.resources[0][4]
        cleanup = next((entry[1] for entry in entries if entry[0] == "cleanup.policy"), "")
        return LiveTopic(name, len(described["partitions"]), cleanup)
    finally:
        await admin.close()


async def create_if_missing(settings: KafkaSettings, specs: Sequence[TopicSpec]) -> list[str]:
    """Create the declared topics that do not exist, named exactly as declared."""
    unprefixed = settings.model_copy(update={"topic_prefix": ""})
    return await create_topics(unprefixed, tuple(specs))


async def require_declared_changelog(
    settings: KafkaSettings, spec: TopicSpec, missing_grace_s: float = 10.0
) -> None:
    """Raise ``ChangelogMismatch`` unless the live topic `spec.name` matches `spec`. A
    topic not found is looked for again for `missing_grace_s`: one created a moment ago
    takes a little while to reach every broker's metadata."""
    declared_name = spec.name
    live = await describe_topic(settings, declared_name)
    waited = 0.0
    while live is None and waited < missing_grace_s:
        await asyncio.sleep(0.5)
        waited += 0.5
        live = await describe_topic(settings, declared_name)
    problems = disagreements(declared_name, spec, live)
    if problems:
        raise ChangelogMismatch("; ".join(problems))


def _policies(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())
