"""Kubernetes manifests under deploy/k8s as documents, and how kustomize renders them.

Shared by the deploy tests: pyyaml only, no cluster, no network. Rendering needs a
``kustomize`` binary (on PATH or named by $KUSTOMIZE; `make k8s-check` installs one).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kintsugi.common.settings import ServiceSettings
from services.intake.config import IntakeSettings
from services.notifier.config import NotifierSettings
from services.router.config import RouterSettings
from services.sla.config import SlaSettings

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(path.parent for path in (K8S / "overlays").glob("*/kustomization.yaml"))
KUSTOMIZE_KINDS = {"Kustomization", "Component"}
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
UID = 10001
# What a workload needs after its drain (SHUTDOWN_GRACE_S) before the kubelet's SIGKILL:
# flush the producer, commit, leave the consumer group.
SHUTDOWN_MARGIN_S = 10

SETTINGS: dict[str, type[ServiceSettings]] = {
    "intake": IntakeSettings,
    "router": RouterSettings,
    "sla": SlaSettings,
    "notifier": NotifierSettings,
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


def load(path: Path) -> Iterator[Doc]:
    for body in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if body is not None:
            yield Doc(path, body)


_ALL = [doc for path in sorted(K8S.rglob("*.y*ml")) for doc in load(path)]
# Files a kustomization applies as patches: fragments of objects, not objects.
PATCH_FILES = {
    (doc.path.parent / patch["path"]).resolve()
    for doc in _ALL
    if doc.kind in KUSTOMIZE_KINDS
    for patch in doc.body.get("patches", [])
    if "path" in patch
}
DOCS = [doc for doc in _ALL if doc.path.resolve() not in PATCH_FILES]
BASE = [doc for doc in DOCS if doc.path.is_relative_to(K8S / "base")]


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc.kind == kind]


def pod_of(workload: Doc) -> dict[str, Any]:
    return workload.body["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def containers_of(workload: Doc) -> list[dict[str, Any]]:
    pod = pod_of(workload)
    return [*pod.get("initContainers", []), *pod["containers"]]


def service_of(workload: Doc) -> str:
    return str(workload.body["metadata"]["labels"]["app.kubernetes.io/name"])


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


def hardening_problems(workload: Doc, all_docs: list[Doc]) -> list[str]:
    """What makes this workload fall short of the hardened default (empty when none)."""
    problems: list[str] = []
    spec = workload.body["spec"]
    pod = pod_of(workload)
    pod_security = pod.get("securityContext", {})
    labels = workload.body["metadata"].get("labels", {})
    template_labels = spec["template"]["metadata"].get("labels", {})

    for key in ("app.kubernetes.io/name", "app.kubernetes.io/part-of"):
        if key not in labels or template_labels.get(key) != labels[key]:
            problems.append(f"label {key} missing on the workload or its pod template")
    if labels.get("app.kubernetes.io/part-of") != "kintsugi":
        problems.append("not labelled app.kubernetes.io/part-of: kintsugi")
    selector = spec["selector"]["matchLabels"]
    if any(template_labels.get(key) != value for key, value in selector.items()):
        problems.append("selector does not match the pod template's labels")

    account = pod.get("serviceAccountName")
    accounts = {doc.name: doc for doc in of_kind(all_docs, "ServiceAccount")}
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
    if pod_security.get("runAsNonRoot") is not True:
        problems.append("pod securityContext.runAsNonRoot is not true")

    for container in containers_of(workload):
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


def workloads(docs: list[Doc]) -> list[Doc]:
    return [doc for doc in docs if doc.kind in WORKLOAD_KINDS]


def kustomize() -> str | None:
    return os.environ.get("KUSTOMIZE") or shutil.which("kustomize")


def render(overlay: Path) -> list[Doc]:
    """The overlay as `kustomize build` renders it (the caller skips without kustomize)."""
    binary = kustomize()
    assert binary is not None
    result = subprocess.run(
        [binary, "build", str(overlay)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return [
        Doc(overlay / "kustomization.yaml", body)
        for body in yaml.safe_load_all(result.stdout)
        if body is not None
    ]


def grace_problems(workload: Doc) -> list[str]:
    """Termination grace must cover preStop, the drain (SHUTDOWN_GRACE_S) and the margin."""
    pod = pod_of(workload)
    (container,) = pod["containers"]
    service = service_of(workload)
    settings = SETTINGS[service]
    prefix = str(settings.model_config.get("env_prefix", ""))
    item = env_of(container).get(f"{prefix}SHUTDOWN_GRACE_S")
    if item is None or "value" not in item:
        return [f"{service}: {prefix}SHUTDOWN_GRACE_S is not set explicitly"]
    drain = float(item["value"])
    pre_stop = 0.0
    hook = container.get("lifecycle", {}).get("preStop", {})
    if "exec" in hook:
        command = hook["exec"]["command"]
        assert command[0] == "sleep", f"{service}: a preStop other than a pause: {command}"
        pre_stop = float(command[1])
    elif "sleep" in hook:
        pre_stop = float(hook["sleep"]["seconds"])
    needed = pre_stop + drain + SHUTDOWN_MARGIN_S
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace < needed:
        return [
            f"{service}: terminationGracePeriodSeconds {grace} < {pre_stop:g} preStop + "
            f"{drain:g} drain + {SHUTDOWN_MARGIN_S} margin"
        ]
    if grace > needed + SHUTDOWN_MARGIN_S:
        return [
            f"{service}: terminationGracePeriodSeconds {grace} is far above the {needed:g} s "
            "the service can use: a stuck pod lingers"
        ]
    return []
