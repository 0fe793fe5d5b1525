"""The overlays as kustomize renders them: what an operator applies, checked before they do.

Skipped without kustomize; the kubeconform check is skipped without kubeconform. `make
k8s-check` installs both (Go proxy) and runs these with them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kintsugi.common.topics import COMPLAINT_EVENTS, COMPLAINT_PARTITIONS
from tests.unit.deploy.k8s_docs import (
    K8S,
    OVERLAYS,
    ROOT,
    SETTINGS,
    Doc,
    env_of,
    grace_problems,
    hardening_problems,
    kustomize,
    of_kind,
    pod_of,
    render,
    service_of,
    workloads,
)
from tests.unit.deploy.monitoring_files import (
    ALERT_RULES,
    DASHBOARDS,
    exported_metric_names,
    metrics_in,
)

SCHEMAS = K8S / "schemas"
ADAPTER_RULES = ROOT / "deploy" / "monitoring" / "prometheus-adapter" / "rules.yaml"
CLUSTER_SCOPED = {"Namespace"}


@pytest.fixture(scope="module", params=OVERLAYS, ids=lambda path: path.name)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[Doc]]:
    if kustomize() is None:
        pytest.skip("kustomize is not installed (make k8s-check installs it)")
    overlay: Path = request.param
    return overlay.name, render(overlay)


@pytest.fixture(scope="module")
def production() -> list[Doc]:
    if kustomize() is None:
        pytest.skip("kustomize is not installed (make k8s-check installs it)")
    return render(K8S / "overlays" / "production")


@pytest.fixture(scope="module")
def dev() -> list[Doc]:
    if kustomize() is None:
        pytest.skip("kustomize is not installed (make k8s-check installs it)")
    return render(K8S / "overlays" / "dev")


def _one(docs: list[Doc], kind: str, name: str) -> Doc:
    (doc,) = [doc for doc in of_kind(docs, kind) if doc.name == name]
    return doc


# --- every overlay ------------------------------------------------------------------------


def test_every_schema_kubeconform_needs_is_committed(rendered: tuple[str, list[Doc]]) -> None:
    _, docs = rendered
    for doc in docs:
        group, _, version = doc.body["apiVersion"].rpartition("/")
        suffix = f"-{group.split('.')[0]}-{version}" if group else f"-{version}"
        assert (SCHEMAS / f"{doc.kind.lower()}{suffix}.json").is_file(), str(doc)


def test_kubeconform_strict_accepts_the_overlay(rendered: tuple[str, list[Doc]]) -> None:
    kubeconform = os.environ.get("KUBECONFORM") or shutil.which("kubeconform")
    if kubeconform is None:
        pytest.skip("kubeconform is not installed (make k8s-check installs it)")
    _, docs = rendered
    stream = yaml.safe_dump_all([doc.body for doc in docs])
    result = subprocess.run(
        [
            kubeconform,
            "-strict",
            "-summary",
            "-schema-location",
            str(SCHEMAS / "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
            "-",
        ],
        input=stream,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Valid: {len(docs)}," in result.stdout


def test_rendered_workloads_are_hardened(rendered: tuple[str, list[Doc]]) -> None:
    _, docs = rendered
    assert {service_of(doc) for doc in workloads(docs)} == set(SETTINGS)
    for workload in workloads(docs):
        assert hardening_problems(workload, docs) == [], workload.name
        assert grace_problems(workload) == [], workload.name


def test_everything_lives_in_the_overlays_namespace(rendered: tuple[str, list[Doc]]) -> None:
    overlay, docs = rendered
    (namespace,) = of_kind(docs, "Namespace")
    assert namespace.name == {"dev": "kintsugi-dev", "production": "kintsugi"}[overlay]
    labels = namespace.body["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    for doc in docs:
        if doc.kind not in CLUSTER_SCOPED:
            assert doc.body["metadata"].get("namespace") == namespace.name, str(doc)


def test_every_strimzi_resource_is_v1(rendered: tuple[str, list[Doc]]) -> None:
    _, docs = rendered
    strimzi = [doc for doc in docs if doc.body["apiVersion"].startswith("kafka.strimzi.io/")]
    assert strimzi
    assert {doc.body["apiVersion"] for doc in strimzi} == {"kafka.strimzi.io/v1"}


def test_topic_replication_per_overlay(rendered: tuple[str, list[Doc]]) -> None:
    overlay, docs = rendered
    expected = {"dev": (1, "1"), "production": (3, "2")}[overlay]
    topics = of_kind(docs, "KafkaTopic")
    assert {t.body["spec"]["topicName"] for t in topics} >= {"kintsugi-sla-clocks-changelog"}
    for topic in topics:
        spec = topic.body["spec"]
        assert (spec["replicas"], spec["config"]["min.insync.replicas"]) == expected, topic.name
    config = _one(docs, "ConfigMap", "kintsugi-config").body["data"]
    assert config["KINTSUGI_TOPIC_REPLICATION_FACTOR"] == str(expected[0])


def test_dev_is_small_and_open(dev: list[Doc]) -> None:
    docs = dev
    assert {workload.body["spec"]["replicas"] for workload in workloads(docs)} == {1}
    assert not of_kind(docs, "NetworkPolicy")
    assert not of_kind(docs, "KafkaUser")


# --- production: Kafka users --------------------------------------------------------------


def test_each_service_logs_in_as_its_own_kafka_user_from_mounted_files(
    production: list[Doc],
) -> None:
    users = {doc.name: doc for doc in of_kind(production, "KafkaUser")}
    config = _one(production, "ConfigMap", "kintsugi-config").body["data"]
    assert config["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert config["KAFKA_BOOTSTRAP_SERVERS"].endswith(":9093"), "the TLS listener"
    seen = set()
    for workload in workloads(production):
        (container,) = pod_of(workload)["containers"]
        env = env_of(container)
        user = users[env["KAFKA_SASL_USERNAME"]["value"]]
        assert user.name == f"kintsugi-{service_of(workload)}"
        assert user.body["spec"]["authentication"]["type"] == "scram-sha-512"
        cluster = user.body["metadata"]["labels"]["strimzi.io/cluster"]
        files = _mounted_secret_files(workload)
        assert files[config["KAFKA_SASL_PASSWORD_FILE"]] == (user.name, "password")
        assert files[config["KAFKA_SSL_CAFILE"]] == (f"{cluster}-cluster-ca-cert", "ca.crt")
        assert not [
            name
            for name, item in env.items()
            if "secretKeyRef" in item.get("valueFrom", {}) and name.startswith("KAFKA_")
        ], "Kafka credentials as variables"
        seen.add(user.name)
    # The two users no workload of ours logs in as: for upstream systems and for workforce
    # management publishing directory updates.
    assert set(users) - seen == {"kintsugi-upstream-producer", "kintsugi-directory-publisher"}


def _mounted_secret_files(workload: Doc) -> dict[str, tuple[str, str]]:
    """Path in the container -> (Secret, key) for every Secret item mounted read-only."""
    (container,) = pod_of(workload)["containers"]
    volumes = {v["name"]: v for v in pod_of(workload)["volumes"] if "secret" in v}
    files = {}
    for mount in container["volumeMounts"]:
        volume = volumes.get(mount["name"])
        if volume is None:
            continue
        assert mount.get("readOnly") is True, mount["name"]
        for item in volume["secret"]["items"]:
            path = f"{mount['mountPath']}/{item['path']}"
            files[path] = (volume["secret"]["secretName"], item["key"])
    return files


# --- production: network policies ---------------------------------------------------------


def _policies_selecting(docs: list[Doc], labels: dict[str, str]) -> list[dict[str, Any]]:
    return [
        policy.body["spec"]
        for policy in of_kind(docs, "NetworkPolicy")
        if all(
            labels.get(k) == v for k, v in policy.body["spec"]["podSelector"]["matchLabels"].items()
        )
    ]


def test_production_denies_by_default_both_ways(production: list[Doc]) -> None:
    deny = _one(production, "NetworkPolicy", "kintsugi-default-deny").body["spec"]
    assert deny["podSelector"]["matchLabels"] == {"app.kubernetes.io/part-of": "kintsugi"}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert deny["ingress"] == [] and deny["egress"] == []


def test_each_pod_may_reach_dns_and_kafka_and_only_the_notifier_smtp(
    production: list[Doc],
) -> None:
    for workload in workloads(production):
        labels = workload.body["spec"]["template"]["metadata"]["labels"]
        egress_ports = {
            port["port"]
            for spec in _policies_selecting(production, labels)
            for rule in spec.get("egress", [])
            for port in rule.get("ports", [])
        }
        assert {53, 9093} <= egress_ports, workload.name
        assert ({25, 465, 587} & egress_ports != set()) == (service_of(workload) == "notifier")


SLA_PEERS = {"app.kubernetes.io/name": "sla", "app.kubernetes.io/part-of": "kintsugi"}


def test_ingress_comes_only_from_labelled_clients_the_monitoring_namespace_and_sla_peers(
    production: list[Doc],
) -> None:
    for workload in workloads(production):
        labels = workload.body["spec"]["template"]["metadata"]["labels"]
        for spec in _policies_selecting(production, labels):
            for rule in spec.get("ingress", []):
                (peer,) = rule["from"]
                if set(peer) == {"podSelector"}:  # sla workers forwarding /clocks/{id}
                    assert service_of(workload) == "sla"
                    assert peer["podSelector"]["matchLabels"] == SLA_PEERS
                    assert [port["port"] for port in rule["ports"]] == [8080]  # the API port
                    continue
                assert set(peer) == {"namespaceSelector"}, "ingress from a labelled namespace"
                selector = peer["namespaceSelector"]["matchLabels"]
                ports = {port["port"] for port in rule["ports"]}
                if ports == {"grpc"}:
                    assert service_of(workload) == "intake"
                    assert selector == {"kintsugi.io/intake-client": "true"}
                elif ports == {"api"}:
                    assert service_of(workload) == "sla"
                    assert selector == {"kintsugi.io/sla-client": "true"}
                else:
                    assert ports == {"metrics"}
                    assert selector == {"kubernetes.io/metadata.name": "monitoring"}


# --- production: autoscaling --------------------------------------------------------------


def test_intake_scales_on_cpu_and_requests_in_flight(production: list[Doc]) -> None:
    (hpa,) = of_kind(production, "HorizontalPodAutoscaler")
    spec = hpa.body["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "kintsugi-intake",
    }
    metrics = {metric["type"]: metric for metric in spec["metrics"]}
    assert metrics["Resource"]["resource"]["name"] == "cpu"
    custom = metrics["Pods"]["pods"]["metric"]["name"]
    adapter = yaml.safe_load(ADAPTER_RULES.read_text())["rules"]["custom"]
    (rule,) = [rule for rule in adapter if rule["name"]["as"] == custom]
    (series,) = metrics_in(rule["seriesQuery"])
    assert series in exported_metric_names(), "the adapter serves a metric intake exports"
    assert 2 <= spec["minReplicas"] < spec["maxReplicas"]


def test_router_and_notifier_scale_on_their_own_lag_up_to_the_partitions(
    production: list[Doc],
) -> None:
    scaled = {}
    for scaler in of_kind(production, "ScaledObject"):
        spec = scaler.body["spec"]
        (trigger,) = spec["triggers"]
        target = _one(production, "Deployment", spec["scaleTargetRef"]["name"])
        service = service_of(target)
        assert trigger["type"] == "kafka"
        assert trigger["metadata"]["consumerGroup"] == SETTINGS[service]().consumer_group
        assert trigger["metadata"]["topic"] == COMPLAINT_EVENTS.name
        assert trigger["metadata"]["allowIdleConsumers"] == "false"
        assert spec["maxReplicaCount"] <= COMPLAINT_PARTITIONS
        auth = _one(production, "TriggerAuthentication", trigger["authenticationRef"]["name"])
        secrets = {ref["parameter"]: ref["name"] for ref in auth.body["spec"]["secretTargetRef"]}
        assert secrets["password"] == f"kintsugi-{service}", "KEDA logs in as the service"
        scaled[service] = target
    assert set(scaled) == {"router", "notifier"}
    autoscaled = [*scaled.values(), _one(production, "Deployment", "kintsugi-intake")]
    for workload in autoscaled:
        assert "replicas" not in workload.body["spec"], "apply would fight the autoscaler"
    (sla,) = of_kind(production, "StatefulSet")
    assert 1 <= sla.body["spec"]["replicas"] <= COMPLAINT_PARTITIONS


def test_production_images_are_pinned_by_digest(production: list[Doc]) -> None:
    for workload in workloads(production):
        for container in pod_of(workload)["containers"]:
            assert re.fullmatch(r"[^@:]+(:[^@]+)?@sha256:[0-9a-f]{64}", container["image"])


def test_every_service_has_a_disruption_budget(production: list[Doc]) -> None:
    budgets = {doc.name for doc in of_kind(production, "PodDisruptionBudget")}
    assert budgets == {workload.name for workload in workloads(production)}


# --- production: monitoring ---------------------------------------------------------------


def test_the_service_monitor_scrapes_every_service_under_the_job_the_alerts_use(
    production: list[Doc],
) -> None:
    (monitor,) = of_kind(production, "ServiceMonitor")
    spec = monitor.body["spec"]
    (endpoint,) = spec["endpoints"]
    assert "jobLabel" not in spec, "the job is the Service's name"
    selected = [
        service
        for service in of_kind(production, "Service")
        if all(
            service.body["metadata"]["labels"].get(k) == v
            for k, v in spec["selector"]["matchLabels"].items()
        )
        and all(
            service.body["metadata"]["labels"].get(e["key"]) in e["values"]
            for e in spec["selector"].get("matchExpressions", [])
        )
    ]
    assert {service.name for service in selected} == {f"kintsugi-{s}" for s in SETTINGS}
    for service in selected:
        assert endpoint["port"] in {port["name"] for port in service.body["spec"]["ports"]}
    absent = {
        rule["expr"]
        for group in yaml.safe_load(ALERT_RULES.read_text())["groups"]
        for rule in group["rules"]
    }
    for service in selected:
        assert f'absent(up{{job="{service.name}"}})' in absent


def test_the_prometheus_rule_carries_the_rules_file_unchanged(production: list[Doc]) -> None:
    (rule,) = of_kind(production, "PrometheusRule")
    assert rule.body["spec"] == yaml.safe_load(ALERT_RULES.read_text())


def test_every_dashboard_is_a_configmap_for_the_grafana_sidecar(production: list[Doc]) -> None:
    maps = [
        doc
        for doc in of_kind(production, "ConfigMap")
        if "grafana_dashboard" in doc.body["metadata"].get("labels", {})
    ]
    contents = {name: text for doc in maps for name, text in doc.body["data"].items()}
    assert {doc.body["metadata"]["labels"]["grafana_dashboard"] for doc in maps} == {"1"}
    assert contents == {path.name: path.read_text() for path in DASHBOARDS}
    for text in contents.values():
        json.loads(text)
