"""Each Kafka user may do what its service does and nothing more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kintsugi.common.topics import (
    ALL_TOPICS,
    COMPLAINT_EVENTS,
    RAW_ACTIVITIES,
    RAW_COMPLAINTS,
    SLA_APP_ID,
    sla_faust_topics,
)
from tests.unit.deploy.k8s_docs import SETTINGS
from tools import render_kafka_users
from tools.render_kafka_users import COMMITTED, GRANTS, Grant, acls, render

FIX = "python -m tools.render_kafka_users --output deploy/k8s/components/strimzi-users/users.yaml"
DECLARED = {spec.name for spec in ALL_TOPICS} | {spec.name for spec in sla_faust_topics()}


def _users() -> dict[str, dict[str, Any]]:
    return {
        doc["metadata"]["name"]: doc
        for doc in yaml.safe_load_all(COMMITTED.read_text(encoding="utf-8"))
    }


def _allowed(user: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    return {
        (rule["resource"]["type"], rule["resource"]["name"]): set(rule["operations"])
        for rule in user["spec"]["authorization"]["acls"]
    }


def test_committed_users_yaml_is_a_fresh_render() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), f"users.yaml drifted; run: {FIX}"


def test_one_user_per_service_and_one_per_kind_of_outside_producer() -> None:
    outside = {"kintsugi-upstream-producer", "kintsugi-directory-publisher"}
    assert set(_users()) == {f"kintsugi-{s}" for s in SETTINGS} | outside
    for user in _users().values():
        assert user["apiVersion"] == "kafka.strimzi.io/v1"
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert user["spec"]["authorization"]["type"] == "simple"


@pytest.mark.parametrize("service", SETTINGS)
def test_a_service_joins_only_the_consumer_group_it_uses(service: str) -> None:
    settings = SETTINGS[service]()
    group = getattr(settings, "app_id", None) or settings.consumer_group
    groups = {name for kind, name in _allowed(_users()[f"kintsugi-{service}"]) if kind == "group"}
    # intake reads raw activities in a second group (another decoder, same service); the
    # router decides from its inbox in a second group
    extra = {"intake": {f"{group}-activities"}, "router": {f"{group}-decider"}}.get(service, set())
    assert groups == {group} | extra


def test_no_user_gets_the_cluster_a_wildcard_a_prefix_or_all() -> None:
    for name, user in _users().items():
        for rule in user["spec"]["authorization"]["acls"]:
            resource = rule["resource"]
            assert resource["type"] in {"topic", "group"}, name
            assert resource["patternType"] == "literal", name
            assert resource["name"] != "*", name
            assert not {"All", "Delete", "Alter", "AlterConfigs"} & set(rule["operations"]), name
            if resource["type"] == "topic":
                assert resource["name"] in DECLARED, f"{name}: undeclared {resource['name']}"


def test_only_the_sla_may_create_topics_and_only_its_faust_topics() -> None:
    for name, user in _users().items():
        created = {res for (kind, res), ops in _allowed(user).items() if "Create" in ops}
        expected = {t.name for t in sla_faust_topics()} if name == "kintsugi-sla" else set()
        assert created == expected, name


def test_the_upstream_producer_can_only_write_submissions_and_activities() -> None:
    assert _allowed(_users()["kintsugi-upstream-producer"]) == {
        ("topic", RAW_COMPLAINTS.name): {"Write", "Describe"},
        ("topic", RAW_ACTIVITIES.name): {"Write", "Describe"},
    }


def test_only_the_upstream_producer_is_throttled_by_the_brokers() -> None:
    # A flood from one upstream system must not hold up the others on the shared raw
    # topics (tests/integration/test_raw_topic_fairness.py proves the mechanism).
    quotas = {name: user["spec"].get("quotas") for name, user in _users().items()}
    assert quotas.pop("kintsugi-upstream-producer") == {"producerByteRate": 262144}
    assert set(quotas.values()) == {None}


def test_every_service_reads_and_writes_the_complaint_events_but_only_intake_the_raw() -> None:
    for service in SETTINGS:
        allowed = _allowed(_users()[f"kintsugi-{service}"])
        events = allowed[("topic", COMPLAINT_EVENTS.name)]
        assert "Write" in events
        assert ("Read" in events) == (service != "intake"), service
        assert (("topic", RAW_COMPLAINTS.name) in allowed) == (service == "intake"), service


def test_the_prefix_renames_the_topics_but_not_the_faust_ones() -> None:
    (sla,) = [grant for grant in GRANTS if grant.user == "kintsugi-sla"]
    names = {rule["resource"]["name"] for rule in acls(sla, prefix="staging.")}
    assert f"staging.{COMPLAINT_EVENTS.name}" in names
    assert f"{SLA_APP_ID}-clocks-changelog" in names
    assert COMPLAINT_EVENTS.name not in names


def test_read_and_write_on_one_topic_make_one_rule() -> None:
    grant = Grant(user="u", purpose="p", reads=(COMPLAINT_EVENTS,), writes=(COMPLAINT_EVENTS,))
    assert acls(grant) == [
        {
            "resource": {"type": "topic", "name": COMPLAINT_EVENTS.name, "patternType": "literal"},
            "operations": ["Describe", "Read", "Write"],
        }
    ]


def test_check_mode_reports_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "users.yaml"
    stale.write_text("# stale\n", encoding="utf-8")
    assert render_kafka_users.main(["--check", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert render_kafka_users.main(["--output", str(stale)]) == 0
    assert render_kafka_users.main(["--check", str(stale)]) == 0
