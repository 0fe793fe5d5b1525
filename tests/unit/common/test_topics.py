"""Topic declarations and the settings that name them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.topics import (
    ALL_TOPICS,
    COMPLAINT_EVENTS,
    DEAD_LETTERS,
    DIRECTORY_UPDATES,
    INTAKE_SUBMISSIONS,
    NOTIFIER_STATE,
    NOTIFIER_UPDATE_CLAIMS,
    RAW_ACTIVITIES,
    RAW_COMPLAINTS,
    ROUTER_INBOX,
    ROUTER_STATE,
    TopicSpec,
)

# Keyed by complaint id: partition N of each must hold the same complaints, so the worker
# that owns a complaint's events also owns that complaint's router and notifier state.
COMPLAINT_KEYED = (COMPLAINT_EVENTS, ROUTER_STATE, NOTIFIER_STATE)


@pytest.mark.parametrize("spec", COMPLAINT_KEYED, ids=lambda s: s.name)
def test_every_complaint_keyed_topic_is_co_partitioned_with_the_events(spec: TopicSpec) -> None:
    assert spec.partitions == COMPLAINT_EVENTS.partitions


def test_only_the_upstream_dead_letter_and_ledger_topics_are_not_keyed_by_complaint_id() -> None:
    # A new topic must be added to COMPLAINT_KEYED (and co-partitioned) or justified here.
    # The intake ledger is keyed by complaint or activity id, and every intake replica reads
    # all of it, so it needs no partition lined up with the events.
    others = {t.name for t in ALL_TOPICS} - {t.name for t in COMPLAINT_KEYED}

    # Directory updates are keyed by handler id: every router reads all of them. The router
    # inbox is keyed by complaint id but has one partition on purpose: one decider. The
    # notifier's update claims are keyed by customer, and every notifier reads all of them.
    assert others == {
        NOTIFIER_UPDATE_CLAIMS.name,
        RAW_COMPLAINTS.name,
        RAW_ACTIVITIES.name,
        DEAD_LETTERS.name,
        INTAKE_SUBMISSIONS.name,
        DIRECTORY_UPDATES.name,
        ROUTER_INBOX.name,
    }


def test_topic_names_are_unique_and_versioned() -> None:
    names = [t.name for t in ALL_TOPICS]

    assert len(set(names)) == len(names)
    assert all(n.startswith("kintsugi.") and n.endswith(".v1") for n in names)


@pytest.mark.parametrize("spec", [ROUTER_STATE, NOTIFIER_STATE], ids=lambda s: s.name)
def test_state_topics_are_compacted_and_kept_forever(spec: TopicSpec) -> None:
    assert spec.config() == {
        "cleanup.policy": "compact",
        "retention.ms": "-1",
        "min.insync.replicas": "1",
    }
    assert spec.config(replication_factor=3)["min.insync.replicas"] == "2"


def test_the_event_log_is_kept_long_enough_to_rebuild_a_complaints_timeline() -> None:
    # Longest regulatory path: 8 weeks to a final response + 6 months to go to the ombudsman.
    assert COMPLAINT_EVENTS.retention_ms >= 8 * 7 * 86_400_000 + 183 * 86_400_000
    assert COMPLAINT_EVENTS.config()["cleanup.policy"] == "delete"


def test_extra_config_is_added_to_the_topic_config() -> None:
    spec = TopicSpec(name="t", purpose="p", extra_config={"min.insync.replicas": "2"})

    assert spec.config()["min.insync.replicas"] == "2"
    assert spec.config()["cleanup.policy"] == "delete"


def test_without_a_prefix_topics_keep_their_declared_names() -> None:
    settings = KafkaSettings(topic_prefix="")

    assert settings.topic(COMPLAINT_EVENTS) == "kintsugi.complaint-events.v1"


def test_a_prefix_separates_environments_sharing_a_cluster() -> None:
    settings = KafkaSettings(topic_prefix="staging.")

    assert [settings.topic(t) for t in ALL_TOPICS] == [f"staging.{t.name}" for t in ALL_TOPICS]


def test_the_prefix_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINTSUGI_TOPIC_PREFIX", "pr-42.")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-0:9092,kafka-1:9092")

    settings = KafkaSettings()

    assert settings.topic(DEAD_LETTERS) == "pr-42.kintsugi.dead-letters.v1"
    assert settings.bootstrap_servers == "kafka-0:9092,kafka-1:9092"


@pytest.mark.parametrize("prefix", ["has space.", "slash/", "colon:"])
def test_a_prefix_kafka_would_reject_is_refused_at_startup(prefix: str) -> None:
    with pytest.raises(ValidationError, match="topic_prefix"):
        KafkaSettings(topic_prefix=prefix)
