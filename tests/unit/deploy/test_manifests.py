"""Every Kubernetes manifest under deploy/k8s is hardened and agrees with the code.

Reads the YAML files as committed (pyyaml only: fast, no cluster, no network). When a
``kustomize`` binary is on PATH (or named by $KUSTOMIZE) every overlay is also rendered and
the rendered Deployments are held to the same rules, so no patch can undo the hardening.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.settings import ServiceSettings
from kintsugi.common.topics import COMPLAINT_PARTITIONS
from services.intake.config import IntakeSettings
from services.notifier.config import NotifierSettings
from services.router.config import RouterSettings
from services.sla.config import SlaSettings

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(path.parent for path in (K8S / "overlays").glob("*/kustomization.yaml"))
KUSTOMIZE_KINDS = {"Kustomization", "Component"}
UID = 10001

SETTINGS: dict[str, type[ServiceSettings]] = {
    "intake": IntakeSettings,
    "router": RouterSettings,
    "sla": SlaSettings,
    "notifier": NotifierSettings,
}
SHARED_ENV = {  # the unprefixed variables every service reads, from KafkaSettings' aliases
    choice
    for info in KafkaSettings.model_fields.values()
    if isinstance(info.validation_alias, AliasChoices)
    for choice in info.validation_alias.choices
    if isinstance(choice, str) and choice.isupper()
}


@dataclass(frozen=True)
class Doc:
    path: Path
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.body.get("metadata", {}).get("name", ""))

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.kind}/{self.name}"


def _load(path: Path) -> Iterator[Doc]:
    for body in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if body is not None:
            yield Doc(path, body)


DOCS = [doc for path in sorted(K8S.rglob("*.y*ml")) for doc in _load(path)]
BASE = [doc for doc in DOCS if doc.path.is_relative_to(K8S / "base")]


def _of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc.kind == kind]


def _pod(deployment: Doc) -> dict[str, Any]:
    return deployment.body["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def _containers(deployment: Doc) -> list[dict[str, Any]]:
    pod = _pod(deployment)
    return [*pod.get("initContainers", []), *pod["containers"]]


def _service_of(deployment: Doc) -> str:
    return str(deployment.body["metadata"]["labels"]["app.kubernetes.io/name"])


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


def hardening_problems(deployment: Doc, all_docs: list[Doc]) -> list[str]:
    """What makes this Deployment fall short of the hardened default (empty when none)."""
    problems: list[str] = []
    spec = deployment.body["spec"]
    pod = _pod(deployment)
    pod_security = pod.get("securityContext", {})
    labels = deployment.body["metadata"].get("labels", {})
    template_labels = spec["template"]["metadata"].get("labels", {})

    for key in ("app.kubernetes.io/name", "app.kubernetes.io/part-of"):
        if key not in labels or template_labels.get(key) != labels[key]:
            problems.append(f"label {key} missing on the Deployment or its pod template")
    if labels.get("app.kubernetes.io/part-of") != "kintsugi":
        problems.append("not labelled app.kubernetes.io/part-of: kintsugi")
    selector = spec["selector"]["matchLabels"]
    if any(template_labels.get(key) != value for key, value in selector.items()):
        problems.append("selector does not match the pod template's labels")

    account = pod.get("serviceAccountName")
    accounts = {doc.name: doc for doc in _of_kind(all_docs, "ServiceAccount")}
    if not account or account == "default":
        problems.append("runs as the namespace's default ServiceAccount")
    elif account not in accounts:
        problems.append(f"ServiceAccount {account} is not declared")
    elif accounts[account].body.get("automountServiceAccountToken") is not False:
        problems.append(f"ServiceAccount {account} mounts its token")
    if pod.get("automountServiceAccountToken") is not False:
        problems.append("pod mounts a ServiceAccount token")
    if pod.get("enableServiceLinks") is not False:
        # Service links would inject e.g. KINTSUGI_INTAKE_PORT into a settings namespace.
        problems.append("enableServiceLinks is not false")
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            problems.append(f"{flag} is set")
    if any("hostPath" in volume for volume in pod.get("volumes", [])):
        problems.append("mounts a hostPath volume")
    grace = pod.get("terminationGracePeriodSeconds")
    if grace != 30:
        problems.append(f"terminationGracePeriodSeconds is {grace}, not 30")
    if pod_security.get("runAsNonRoot") is not True:
        problems.append("pod securityContext.runAsNonRoot is not true")

    for container in _containers(deployment):
        name = container["name"]
        security = container.get("securityContext", {})
        if security.get("runAsNonRoot") is not True:
            problems.append(f"{name}: runAsNonRoot is not true")
        if security.get("runAsUser", pod_security.get("runAsUser")) != UID:
            problems.append(f"{name}: does not run as uid {UID}")
        if security.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: root file system is writable")
        if security.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        if security.get("privileged"):
            problems.append(f"{name}: privileged")
        capabilities = security.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []) or capabilities.get("add"):
            problems.append(f"{name}: capabilities are not drop [ALL] with none added")
        seccomp = security.get("seccompProfile", pod_security.get("seccompProfile", {}))
        if seccomp.get("type") != "RuntimeDefault":
            problems.append(f"{name}: seccompProfile is not RuntimeDefault")
        resources = container.get("resources", {})
        for bound in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in resources.get(bound, {}):
                    problems.append(f"{name}: no {bound}.{resource}")
        if name not in {c["name"] for c in pod.get("initContainers", [])}:
            for probe in ("livenessProbe", "readinessProbe"):
                if probe not in container:
                    problems.append(f"{name}: no {probe}")
            if "metrics" not in {port.get("name") for port in container.get("ports", [])}:
                problems.append(f"{name}: no container port named metrics")
        if {"configMapRef": {"name": "kintsugi-config"}} not in container.get("envFrom", []):
            problems.append(f"{name}: does not read the kintsugi-config ConfigMap")
    return problems


# --- the files as committed -------------------------------------------------------------


def test_the_manifests_exist() -> None:
    assert OVERLAYS == [K8S / "overlays" / "dev", K8S / "overlays" / "production"]
    assert {_service_of(doc) for doc in _of_kind(BASE, "Deployment")} == set(SETTINGS)


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
    assert not _of_kind(DOCS, "Secret")


@pytest.mark.parametrize("deployment", _of_kind(DOCS, "Deployment"), ids=str)
def test_deployment_is_hardened(deployment: Doc) -> None:
    assert hardening_problems(deployment, DOCS) == []


def test_each_deployment_has_its_own_service_account() -> None:
    accounts = [_pod(doc)["serviceAccountName"] for doc in _of_kind(BASE, "Deployment")]
    assert len(accounts) == len(set(accounts))


@pytest.mark.parametrize("deployment", _of_kind(BASE, "Deployment"), ids=str)
def test_ports_and_env_agree_with_the_service_settings(deployment: Doc) -> None:
    service = _service_of(deployment)
    settings = SETTINGS[service]
    prefix = str(settings.model_config.get("env_prefix", ""))
    fields = settings.model_fields
    (container,) = _pod(deployment)["containers"]
    assert container["args"] == [f"services.{service}"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["metrics"] == fields["ops_port"].default
    if service == "intake":
        assert ports["grpc"] == fields["grpc_port"].default
    for name, item in _env(container).items():
        assert name.startswith(prefix), f"{name} is not a {service} setting"
        assert name.removeprefix(prefix).lower() in fields, f"{name}: no such setting"
        if "value" in item and name.endswith("_PORT"):
            assert int(item["value"]) in ports.values(), f"{name} is not a container port"


def test_configmap_keys_are_settings_some_service_reads() -> None:
    (config,) = [doc for doc in _of_kind(BASE, "ConfigMap") if doc.name == "kintsugi-config"]
    data = config.body["data"]
    # Where the cluster is and how topics are named; security settings are the operator's
    # (docs), credentials come from Secrets.
    assert set(data).issuperset(
        {"KAFKA_BOOTSTRAP_SERVERS", "KINTSUGI_TOPIC_PREFIX", "KINTSUGI_TOPIC_REPLICATION_FACTOR"}
    )
    assert not {"KAFKA_SASL_PASSWORD"} & set(data), "a password does not belong in a ConfigMap"
    assert data["KAFKA_BOOTSTRAP_SERVERS"] == "kintsugi-kafka-bootstrap:9092"
    for key in set(data) - SHARED_ENV:
        owners = [
            settings
            for settings in SETTINGS.values()
            if key.startswith(str(settings.model_config.get("env_prefix")))
            and key.removeprefix(str(settings.model_config.get("env_prefix"))).lower()
            in settings.model_fields
        ]
        assert owners, f"{key} is read by no service"
    assert all(isinstance(value, str) for value in data.values())


@pytest.mark.parametrize("deployment", _of_kind(BASE, "Deployment"), ids=str)
def test_probes(deployment: Doc) -> None:
    (container,) = _pod(deployment)["containers"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    if _service_of(deployment) == "intake":
        assert container["readinessProbe"]["grpc"] == {"port": 50051}
    else:
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}


@pytest.mark.parametrize("deployment", _of_kind(BASE, "Deployment"), ids=str)
def test_base_replicas_fit_the_partitions(deployment: Doc) -> None:
    assert 2 <= deployment.body["spec"]["replicas"] <= COMPLAINT_PARTITIONS


def test_sla_writes_only_to_its_emptydirs() -> None:
    (sla,) = [doc for doc in _of_kind(BASE, "Deployment") if _service_of(doc) == "sla"]
    (container,) = _pod(sla)["containers"]
    data_dir = _env(container)["KINTSUGI_SLA_DATA_DIR"]["value"]
    volumes = {volume["name"]: volume for volume in _pod(sla)["volumes"]}
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    for path in (data_dir, "/tmp"):
        assert path in mounts, f"nothing writable mounted at {path}"
        assert "emptyDir" in volumes[mounts[path]]


def test_notifier_smtp_settings_come_from_the_optional_secret() -> None:
    (notifier,) = [d for d in _of_kind(BASE, "Deployment") if _service_of(d) == "notifier"]
    (container,) = _pod(notifier)["containers"]
    env = _env(container)
    for setting in ("HOST", "PORT", "START_TLS", "USERNAME", "PASSWORD"):
        item = env[f"KINTSUGI_NOTIFIER_SMTP_{setting}"]
        assert "value" not in item
        reference = item["valueFrom"]["secretKeyRef"]
        assert reference["name"] == "kintsugi-smtp"
        assert reference["optional"] is True


@pytest.mark.parametrize("service", _of_kind(BASE, "Service"), ids=str)
def test_services_select_a_deployment_and_its_named_ports(service: Doc) -> None:
    selector = service.body["spec"]["selector"]
    (deployment,) = [
        doc
        for doc in _of_kind(BASE, "Deployment")
        if all(
            doc.body["spec"]["template"]["metadata"]["labels"].get(key) == value
            for key, value in selector.items()
        )
    ]
    port_names = {port["name"] for c in _pod(deployment)["containers"] for port in c["ports"]}
    for port in service.body["spec"]["ports"]:
        assert port["targetPort"] in port_names


@pytest.mark.parametrize("policy", _of_kind(DOCS, "NetworkPolicy"), ids=str)
def test_network_policies_select_kintsugi_pods_and_name_real_ports(policy: Doc) -> None:
    selector = policy.body["spec"]["podSelector"]["matchLabels"]
    assert selector.get("app.kubernetes.io/part-of") == "kintsugi"
    selected = [
        doc
        for doc in _of_kind(BASE, "Deployment")
        if all(
            doc.body["spec"]["template"]["metadata"]["labels"].get(key) == value
            for key, value in selector.items()
        )
    ]
    assert selected
    for rule in policy.body["spec"].get("ingress", []):
        for port in rule.get("ports", []):
            for deployment in selected:
                (container,) = _pod(deployment)["containers"]
                named = {p["name"]: p["containerPort"] for p in container["ports"]}
                assert port["port"] in named or port["port"] in named.values()


# --- the overlays as kustomize renders them ---------------------------------------------


def _kustomize() -> str | None:
    return os.environ.get("KUSTOMIZE") or shutil.which("kustomize")


@pytest.fixture(scope="module", params=OVERLAYS, ids=lambda path: path.name)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[Doc]]:
    binary = _kustomize()
    if binary is None:
        pytest.skip("kustomize is not installed (see deploy/k8s/README.md)")
    overlay: Path = request.param
    result = subprocess.run(
        [binary, "build", str(overlay)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    docs = [Doc(overlay / "kustomization.yaml", body) for body in yaml.safe_load_all(result.stdout)]
    return overlay.name, docs


def test_rendered_overlay_is_hardened(rendered: tuple[str, list[Doc]]) -> None:
    overlay, docs = rendered
    deployments = _of_kind(docs, "Deployment")
    assert {_service_of(doc) for doc in deployments} == set(SETTINGS)
    for deployment in deployments:
        assert hardening_problems(deployment, docs) == [], deployment.name
    replicas = {deployment.body["spec"]["replicas"] for deployment in deployments}
    topics = _of_kind(docs, "KafkaTopic")
    assert topics
    if overlay == "dev":
        assert replicas == {1}
        assert not _of_kind(docs, "NetworkPolicy")
        assert {topic.body["spec"]["replicas"] for topic in topics} == {1}
    else:
        assert replicas == {2}
        assert len(_of_kind(docs, "NetworkPolicy")) == 3
        assert len(_of_kind(docs, "PodDisruptionBudget")) == 4
        assert {topic.body["spec"]["replicas"] for topic in topics} == {3}
