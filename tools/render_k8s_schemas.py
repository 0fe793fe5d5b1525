"""Regenerate the JSON schemas kubeconform checks deploy/k8s against, from the real sources.

    python -m tools.render_k8s_schemas [--java JAVA_21_OR_NEWER]

Writes deploy/k8s/schemas/<kind>-<group>-<version>.json (kubeconform's ``KindSuffix``
layout) for exactly the kinds Kintsugi's manifests use, in strict form (no property the
API does not know). Nothing is copied by hand; every schema is derived from:

- Kubernetes: ``api/openapi-spec/v3`` of the Go module ``k8s.io/kubernetes`` (the OpenAPI
  the API server itself serves), fetched with ``go mod download``;
- Prometheus Operator: the CRDs in ``example/prometheus-operator-crd`` of its Go module;
- KEDA: the CRDs in ``config/crd/bases`` of its Go module;
- Strimzi, which publishes no Go module: its CRD generator run over its ``api`` artifact
  from Maven Central (the way Strimzi builds its own CRDs). It needs Java 21 or newer.

Bump a version below, run this, commit the result: ``make k8s-check`` then validates every
overlay against the new schemas.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "deploy" / "k8s" / "schemas"

KUBERNETES = ("k8s.io/kubernetes", "v1.34.4")
PROMETHEUS_OPERATOR = ("github.com/prometheus-operator/prometheus-operator", "v0.85.0")
KEDA = ("github.com/kedacore/keda/v2", "v2.21.0")
STRIMZI = "1.2.0"

# (apiVersion, kind) of every Kubernetes object Kintsugi ships.
KUBERNETES_KINDS = (
    ("v1", "ConfigMap"),
    ("v1", "Namespace"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("policy/v1", "PodDisruptionBudget"),
)
PROMETHEUS_OPERATOR_CRDS = ("podmonitors", "servicemonitors", "prometheusrules")
KEDA_CRDS = ("scaledobjects", "triggerauthentications")
STRIMZI_CRDS = {
    "io.strimzi.api.kafka.model.topic.KafkaTopic": "kafkatopic",
    "io.strimzi.api.kafka.model.user.KafkaUser": "kafkauser",
}

STRIMZI_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>kintsugi</groupId><artifactId>strimzi-crds</artifactId><version>0</version>
  <dependencies>
    <dependency><groupId>io.strimzi</groupId><artifactId>crd-generator</artifactId>
      <version>{version}</version></dependency>
    <dependency><groupId>io.strimzi</groupId><artifactId>api</artifactId>
      <version>{version}</version></dependency>
  </dependencies>
</project>
"""


def file_name(api_version: str, kind: str) -> str:
    """kubeconform's ``{{ .ResourceKind }}{{ .KindSuffix }}.json`` for this group/version.

    >>> file_name("apps/v1", "Deployment"), file_name("v1", "Service")
    ('deployment-apps-v1.json', 'service-v1.json')
    >>> file_name("kafka.strimzi.io/v1", "KafkaUser")
    'kafkauser-kafka-v1.json'
    """
    group, _, version = api_version.rpartition("/")
    suffix = f"-{group.split('.')[0]}-{version}" if group else f"-{version}"
    return f"{kind.lower()}{suffix.lower()}.json"


def strict(schema: Any) -> Any:
    """Every object that lists its properties accepts no others (kubeconform -strict)."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


# --- Kubernetes built-in kinds, from the API server's OpenAPI v3 -------------------------


def go_module_dir(module: str, version: str) -> Path:
    found = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GOFLAGS": "-mod=mod"},
    )
    return Path(json.loads(found.stdout)["Dir"])


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"].rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _local_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                "#/definitions/" + value.rsplit("/", 1)[-1]
                if key == "$ref" and isinstance(value, str)
                else _local_refs(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_local_refs(item) for item in node]
    return node


def kubernetes_schemas(
    spec_dir: Path, kinds: tuple[tuple[str, str], ...] = KUBERNETES_KINDS
) -> dict[str, Any]:
    components: dict[str, Any] = {}
    for path in sorted(spec_dir.glob("*_openapi.json")):
        components.update(json.loads(path.read_text())["components"].get("schemas", {}))
    by_gvk = {
        (gvk["group"], gvk["version"], gvk["kind"]): name
        for name, schema in components.items()
        for gvk in schema.get("x-kubernetes-group-version-kind", [])
    }
    schemas = {}
    for api_version, kind in kinds:
        group, _, version = api_version.rpartition("/")
        root = by_gvk[(group, version, kind)]
        needed, queue = set(), [root]
        while queue:  # every definition the root reaches, and no other
            name = queue.pop()
            if name not in needed:
                needed.add(name)
                queue.extend(_refs(components[name]))
        definitions = {name: strict(_local_refs(components[name])) for name in sorted(needed)}
        schemas[file_name(api_version, kind)] = {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "description": f"{api_version} {kind}, Kubernetes {KUBERNETES[1]} (strict)",
            "$ref": f"#/definitions/{root}",
            "definitions": definitions,
        }
    return schemas


# --- Custom resources, from their CRDs ---------------------------------------------------


def crd_schemas(crd: dict[str, Any], source: str) -> dict[str, Any]:
    spec = crd["spec"]
    schemas = {}
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        api_version = f"{spec['group']}/{version['name']}"
        schema = strict(version["schema"]["openAPIV3Schema"])
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
        schema["description"] = f"{api_version} {spec['names']['kind']}, {source} (strict)"
        schemas[file_name(api_version, spec["names"]["kind"])] = schema
    return schemas


def go_module_crds(
    module: str, version: str, folder: str, names: tuple[str, ...]
) -> dict[str, Any]:
    base = go_module_dir(module, version) / folder
    schemas: dict[str, Any] = {}
    for name in names:
        (path,) = base.glob(f"*_{name}.yaml")
        schemas.update(crd_schemas(yaml.safe_load(path.read_text()), f"{module} {version}"))
    return schemas


def strimzi_crds(java: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "pom.xml").write_text(STRIMZI_POM.format(version=STRIMZI))
        subprocess.run(
            ["mvn", "-q", "dependency:copy-dependencies", "-DoutputDirectory=lib"],
            cwd=work,
            check=True,
        )
        outputs = {name: work / "out" / f"{short}.yaml" for name, short in STRIMZI_CRDS.items()}
        subprocess.run(
            [
                java,
                "-cp",
                str(work / "lib" / "*"),
                "io.strimzi.crdgenerator.CrdGenerator",
                "--yaml",
                "--crd-api-version",
                "v1",
                "--api-versions",
                "v1",
                "--storage-version",
                "v1",
                *(f"{name}={path}" for name, path in outputs.items()),
            ],
            check=True,
        )
        schemas: dict[str, Any] = {}
        for path in outputs.values():
            crd = yaml.safe_load(path.read_text())
            schemas.update(crd_schemas(crd, f"Strimzi {STRIMZI}"))
        return schemas


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.render_k8s_schemas", description=__doc__)
    parser.add_argument("--java", default=os.environ.get("JAVA", "java"), help="Java 21+")
    parser.add_argument("--output", type=Path, default=SCHEMAS)
    args = parser.parse_args(argv)
    for tool in ("go", "mvn", args.java):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is needed and not on PATH")

    schemas = kubernetes_schemas(go_module_dir(*KUBERNETES) / "api" / "openapi-spec" / "v3")
    schemas.update(
        go_module_crds(
            *PROMETHEUS_OPERATOR, "example/prometheus-operator-crd", PROMETHEUS_OPERATOR_CRDS
        )
    )
    schemas.update(go_module_crds(*KEDA, "config/crd/bases", KEDA_CRDS))
    schemas.update(strimzi_crds(args.java))

    if args.output.exists():
        shutil.rmtree(args.output)
    args.output.mkdir(parents=True)
    for name, schema in sorted(schemas.items()):
        text = json.dumps(schema, indent=1, sort_keys=True) + "\n"
        (args.output / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(schemas)} schemas to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
