"""Every Kubernetes manifest under deploy/k8s, as committed, is hardened and agrees with the code.

The overlays as kustomize renders them are held to the same rules in test_overlays.py.
"""

from __future__ import annotations

import pytest
from pydantic import AliasChoices

from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.topics import COMPLAINT_PARTITIONS
from tests.unit.deploy.k8s_docs import (
    BASE,
    DOCS,
    K8S,
    KUSTOMIZE_KINDS,
    OVERLAYS,
    SETTINGS,
    Doc,
    env_of,
    grace_problems,
    hardening_problems,
    of_kind,
    pod_of,
    service_of,
    workloads,
)

SHARED_ENV = {  # the unprefixed variables every service reads, from KafkaSettings' aliases
    choice
    for info in KafkaSettings.model_fields.values()
    if isinstance(info.validation_alias, AliasChoices)
    for choice in info.validation_alias.choices
    if isinstance(choice, str) and choice.isupper()
}
# Filled from the downward API only to build a setting's value, e.g. $(POD_NAME).
POD_FIELDS = {"POD_NAME", "POD_NAMESPACE"}


def is_a_setting(name: str, service: str) -> bool:
    if name in SHARED_ENV or name in POD_FIELDS:
        return True
    settings = SETTINGS[service]
    prefix = str(settings.model_config.get("env_prefix", ""))
    return name.startswith(prefix) and name.removeprefix(prefix).lower() in settings.model_fields


def test_the_manifests_exist() -> None:
    assert OVERLAYS == [K8S / "overlays" / "dev", K8S / "overlays" / "production"]
    assert {service_of(doc) for doc in workloads(BASE)} == set(SETTINGS)
    assert [service_of(doc) for doc in of_kind(BASE, "StatefulSet")] == ["sla"]


@pytest.mark.parametrize("doc", DOCS, ids=str)
def test_every_document_is_a_named_kubernetes_object(doc: Doc) -> None:
    assert doc.body.get("apiVersion"), "no apiVersion"
    assert doc.kind, "no kind"
    if doc.kind not in KUSTOMIZE_KINDS:
        assert doc.name, "no metadata.name"
        assert doc.body["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == (
            "kintsugi"
        )


@pytest.mark.parametrize(
    "doc", [d for d in DOCS if d.kind in KUSTOMIZE_KINDS], ids=lambda d: str(d.path)
)
def test_kustomizations_reference_files_that_exist(doc: Doc) -> None:
    here = doc.path.parent
    for entry in [*doc.body.get("resources", []), *doc.body.get("components", [])]:
        target = here / entry
        assert target.is_file() or (target / "kustomization.yaml").is_file(), entry
    for patch in doc.body.get("patches", []):
        if "path" in patch:
            assert (here / patch["path"]).is_file(), patch["path"]


def test_no_secret_is_committed() -> None:
    assert not of_kind(DOCS, "Secret")


@pytest.mark.parametrize("workload", workloads(BASE), ids=str)
def test_workload_is_hardened(workload: Doc) -> None:
    assert hardening_problems(workload, DOCS) == []


@pytest.mark.parametrize("workload", workloads(BASE), ids=str)
def test_termination_grace_covers_prestop_drain_and_margin(workload: Doc) -> None:
    assert grace_problems(workload) == []


def test_grace_arithmetic_catches_a_budget_too_small() -> None:
    (intake,) = [doc for doc in workloads(BASE) if service_of(doc) == "intake"]
    squeezed = Doc(intake.path, {**intake.body})
    squeezed.body["spec"] = {
        **intake.body["spec"],
        "template": {
            **intake.body["spec"]["template"],
            "spec": {**pod_of(intake), "terminationGracePeriodSeconds": 30},
        },
    }
    (problem,) = grace_problems(squeezed)
    assert "30 < 5 preStop + 20 drain + 10 margin" in problem


def test_each_workload_has_its_own_service_account() -> None:
    accounts = [pod_of(doc)["serviceAccountName"] for doc in workloads(BASE)]
    assert len(accounts) == len(set(accounts))


@pytest.mark.parametrize("workload", workloads(BASE), ids=str)
def test_ports_and_env_agree_with_the_service_settings(workload: Doc) -> None:
    service = service_of(workload)
    fields = SETTINGS[service].model_fields
    (container,) = pod_of(workload)["containers"]
    assert container["args"] == [f"services.{service}"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["metrics"] == fields["ops_port"].default
    if service == "intake":
        assert ports["grpc"] == fields["grpc_port"].default
    if service == "sla":
        assert ports["api"] == fields["api_port"].default
    for name, item in env_of(container).items():
        assert is_a_setting(name, service), f"{name}: no {service} setting reads it"
        if "value" in item and name.endswith("_PORT"):
            assert int(item["value"]) in ports.values(), f"{name} is not a container port"


def test_configmap_keys_are_settings_some_service_reads() -> None:
    (config,) = [doc for doc in of_kind(BASE, "ConfigMap") if doc.name == "kintsugi-config"]
    data = config.body["data"]
    assert set(data).issuperset(
        {"KAFKA_BOOTSTRAP_SERVERS", "KINTSUGI_TOPIC_PREFIX", "KINTSUGI_TOPIC_REPLICATION_FACTOR"}
    )
    assert not {"KAFKA_SASL_PASSWORD"} & set(data), "a password does not belong in a ConfigMap"
    assert data["KAFKA_BOOTSTRAP_SERVERS"] == "kintsugi-kafka-bootstrap:9092"
    for key in data:
        assert any(is_a_setting(key, service) for service in SETTINGS), f"{key} is read by no one"
    assert all(isinstance(value, str) for value in data.values())


@pytest.mark.parametrize("workload", workloads(BASE), ids=str)
def test_probes(workload: Doc) -> None:
    (container,) = pod_of(workload)["containers"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    if service_of(workload) == "intake":
        assert container["readinessProbe"]["grpc"] == {"port": 50051}
    else:
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}


@pytest.mark.parametrize("workload", workloads(BASE), ids=str)
def test_base_replicas_fit_the_partitions(workload: Doc) -> None:
    assert 2 <= workload.body["spec"]["replicas"] <= COMPLAINT_PARTITIONS


def test_no_workload_is_scraped_by_annotation() -> None:
    # The ServiceMonitor scrapes them; annotation-based scraping as well would double every
    # series under another job name, and the alerts select on the job.
    for workload in workloads(BASE):
        annotations = workload.body["spec"]["template"]["metadata"].get("annotations", {})
        assert not {key for key in annotations if key.startswith("prometheus.io/")}


def test_sla_keeps_its_store_on_a_claim_of_its_own_and_writes_nowhere_else() -> None:
    (sla,) = of_kind(BASE, "StatefulSet")
    (container,) = pod_of(sla)["containers"]
    data_dir = env_of(container)["KINTSUGI_SLA_DATA_DIR"]["value"]
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    claims = {claim["metadata"]["name"] for claim in sla.body["spec"]["volumeClaimTemplates"]}
    volumes = {volume["name"]: volume for volume in pod_of(sla)["volumes"]}
    assert mounts[data_dir] in claims
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert set(mounts) == {data_dir, "/tmp"}
    (service,) = [
        doc for doc in of_kind(BASE, "Service") if doc.name == sla.body["spec"]["serviceName"]
    ]
    assert service.body["spec"]["clusterIP"] == "None"


def test_an_sla_pod_restarted_under_its_name_is_the_same_group_member() -> None:
    # Static membership under the worker name, which defaults to the host name: in a
    # StatefulSet the pod name, stable and unique, so a restarted worker takes its
    # partitions back instead of waiting out its old session.
    (sla,) = of_kind(BASE, "StatefulSet")
    (container,) = pod_of(sla)["containers"]
    env = env_of(container)
    assert env["KINTSUGI_SLA_STATIC_MEMBERSHIP"]["value"] == "true"
    assert "KINTSUGI_SLA_WORKER_NAME" not in env


def test_smtp_password_is_a_mounted_file_never_a_variable() -> None:
    (notifier,) = [doc for doc in workloads(BASE) if service_of(doc) == "notifier"]
    (container,) = pod_of(notifier)["containers"]
    env = env_of(container)
    assert "KINTSUGI_NOTIFIER_SMTP_PASSWORD" not in env
    password_file = env["KINTSUGI_NOTIFIER_SMTP_PASSWORD_FILE"]["value"]
    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    (volume,) = [
        v
        for v in pod_of(notifier)["volumes"]
        if v.get("secret", {}).get("secretName") == "kintsugi-smtp"
    ]
    mount = mounts[volume["name"]]
    assert mount["readOnly"] is True
    (item,) = volume["secret"]["items"]
    assert f"{mount['mountPath']}/{item['path']}" == password_file
    assert item["key"] == "password"
    for setting in ("HOST", "PORT", "START_TLS", "USERNAME"):
        reference = env[f"KINTSUGI_NOTIFIER_SMTP_{setting}"]["valueFrom"]["secretKeyRef"]
        assert reference["name"] == "kintsugi-smtp"


@pytest.mark.parametrize("service", of_kind(BASE, "Service"), ids=str)
def test_services_select_a_workload_and_its_named_ports(service: Doc) -> None:
    selector = service.body["spec"]["selector"]
    (workload,) = [
        doc
        for doc in workloads(BASE)
        if all(
            doc.body["spec"]["template"]["metadata"]["labels"].get(key) == value
            for key, value in selector.items()
        )
    ]
    port_names = {port["name"] for c in pod_of(workload)["containers"] for port in c["ports"]}
    for port in service.body["spec"]["ports"]:
        assert port["targetPort"] in port_names


@pytest.mark.parametrize("policy", of_kind(DOCS, "NetworkPolicy"), ids=str)
def test_network_policies_select_kintsugi_pods_and_name_real_ports(policy: Doc) -> None:
    selector = policy.body["spec"]["podSelector"]["matchLabels"]
    assert selector.get("app.kubernetes.io/part-of") == "kintsugi"
    selected = [
        doc
        for doc in workloads(BASE)
        if all(
            doc.body["spec"]["template"]["metadata"]["labels"].get(key) == value
            for key, value in selector.items()
        )
    ]
    assert selected
    for rule in policy.body["spec"].get("ingress", []):
        for port in rule.get("ports", []):
            for workload in selected:
                (container,) = pod_of(workload)["containers"]
                named = {p["name"]: p["containerPort"] for p in container["ports"]}
                assert port["port"] in named or port["port"] in named.values()
