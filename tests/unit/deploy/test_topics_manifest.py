"""The committed KafkaTopic manifests are exactly a fresh render of the topic declaration."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kintsugi.common.topics import ALL_TOPICS, SLA_APP_ID, SLA_CLOCK_TABLE, sla_faust_topics
from services.sla.config import SlaSettings
from tools import render_topics
from tools.render_topics import COMMITTED, render, resource_name

FIX = "python -m tools.render_topics --output deploy/k8s/components/strimzi-topics/topics.yaml"


def test_committed_topics_yaml_is_a_fresh_render() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), f"topics.yaml drifted; run: {FIX}"


def test_one_kafka_topic_per_declared_topic_and_per_sla_faust_topic() -> None:
    documents = list(yaml.safe_load_all(COMMITTED.read_text(encoding="utf-8")))
    declared = [*ALL_TOPICS, *sla_faust_topics()]
    assert [doc["spec"]["topicName"] for doc in documents] == [s.name for s in declared]
    for doc, spec in zip(documents, declared, strict=True):
        # Strimzi 1.0 removed v1beta2: a v1beta2 KafkaTopic no longer applies.
        assert doc["apiVersion"] == "kafka.strimzi.io/v1"
        assert doc["kind"] == "KafkaTopic"
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == "kintsugi"
        assert doc["spec"]["partitions"] == spec.partitions
        assert doc["spec"]["replicas"] == 3
        assert doc["spec"]["config"] == spec.config(doc["spec"]["replicas"])


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("kintsugi.complaint-events.v1", "kintsugi-complaint-events-v1"),
        ("Staging_A.kintsugi.x.v1", "staging-a-kintsugi-x-v1"),
        ("..odd..", "odd"),
    ],
)
def test_resource_name_is_a_dns_1123_label(topic: str, expected: str) -> None:
    assert resource_name(topic) == expected


def test_resource_name_rejects_what_has_no_label_form() -> None:
    with pytest.raises(ValueError):
        resource_name("x" * 64)
    with pytest.raises(ValueError):
        resource_name("___")


def test_names_that_collide_are_refused() -> None:
    twin_a = ALL_TOPICS[0]
    twin_b = type(twin_a)(name=twin_a.name.replace(".", "_"), purpose="clash")
    with pytest.raises(ValueError, match="same resource name"):
        render((twin_a, twin_b))


def test_prefix_changes_topic_and_resource_names() -> None:
    documents = list(yaml.safe_load_all(render(prefix="staging.", replicas=1)))
    assert documents[0]["spec"]["topicName"] == "staging." + ALL_TOPICS[0].name
    assert documents[0]["metadata"]["name"] == "staging-" + resource_name(ALL_TOPICS[0].name)
    assert {doc["spec"]["replicas"] for doc in documents} == {1}


def test_check_mode_reports_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "topics.yaml"
    stale.write_text("# stale\n", encoding="utf-8")
    assert render_topics.main(["--check", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert render_topics.main(["--output", str(stale)]) == 0
    assert render_topics.main(["--check", str(stale)]) == 0


def test_rendered_topics_never_demand_more_in_sync_replicas_than_they_have() -> None:
    kustomize = os.environ.get("KUSTOMIZE") or shutil.which("kustomize")
    if not kustomize:
        pytest.skip("kustomize not installed (make k8s-check installs it)")
    overlays = Path(__file__).resolve().parents[3] / "deploy" / "k8s" / "overlays"
    for overlay in sorted(overlays.iterdir()):
        rendered = subprocess.run(
            [kustomize, "build", str(overlay)], capture_output=True, text=True, check=True
        ).stdout
        for doc in yaml.safe_load_all(rendered):
            if doc and doc["kind"] == "KafkaTopic":
                spec = doc["spec"]
                assert int(spec["config"]["min.insync.replicas"]) <= spec["replicas"], (
                    overlay.name,
                    doc["metadata"]["name"],
                )


def test_the_sla_faust_topics_are_named_as_faust_names_them() -> None:
    import faust  # the sla's runtime; imported here so the other tests stay light

    assert SlaSettings().app_id == SLA_APP_ID
    app = faust.App(SLA_APP_ID, broker="kafka://127.0.0.1:1")
    table = app.Table(SLA_CLOCK_TABLE, partitions=6)
    changelog, leader = sla_faust_topics()
    assert changelog.name == table.changelog_topic.get_topic_name()
    assert changelog.partitions == table.partitions
    assert changelog.cleanup_policy == "compact"
    assert leader.name == app._leader_assignor._leader_topic_name  # type: ignore[attr-defined]


def test_the_sla_faust_topics_follow_the_app_id_not_the_topic_prefix() -> None:
    documents = list(yaml.safe_load_all(render(prefix="staging.", sla_app_id="staging-sla")))
    names = [doc["spec"]["topicName"] for doc in documents]
    assert names[-2:] == ["staging-sla-clocks-changelog", "staging-sla-__assignor-__leader"]
    assert all(name.startswith("staging.") for name in names[:-2])
    assert len(list(yaml.safe_load_all(render(sla_app_id=None)))) == len(ALL_TOPICS)
