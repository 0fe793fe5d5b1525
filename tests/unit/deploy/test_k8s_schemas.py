"""The schemas kubeconform validates against are strict, complete and derived, not written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tools import render_dashboards
from tools.render_k8s_schemas import (
    KUBERNETES_KINDS,
    SCHEMAS,
    crd_schemas,
    file_name,
    kubernetes_schemas,
    strict,
)


def _objects(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [found for item in node for found in _objects(item)]
    if not isinstance(node, dict):
        return []
    return [node, *(found for value in node.values() for found in _objects(value))]


@pytest.mark.parametrize(
    ("api_version", "kind", "expected"),
    [
        ("v1", "ConfigMap", "configmap-v1.json"),
        ("apps/v1", "StatefulSet", "statefulset-apps-v1.json"),
        ("kafka.strimzi.io/v1", "KafkaTopic", "kafkatopic-kafka-v1.json"),
        ("monitoring.coreos.com/v1", "PrometheusRule", "prometheusrule-monitoring-v1.json"),
        ("keda.sh/v1alpha1", "ScaledObject", "scaledobject-keda-v1alpha1.json"),
    ],
)
def test_file_names_follow_kubeconforms_kind_suffix(
    api_version: str, kind: str, expected: str
) -> None:
    assert file_name(api_version, kind) == expected


def test_strict_closes_objects_except_where_the_api_keeps_unknown_fields() -> None:
    schema = strict(
        {
            "type": "object",
            "properties": {
                "spec": {"type": "object", "properties": {"a": {"type": "string"}}},
                "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    )
    assert schema["additionalProperties"] is False
    assert schema["properties"]["spec"]["additionalProperties"] is False
    assert "additionalProperties" not in schema["properties"]["config"]
    assert schema["properties"]["labels"]["additionalProperties"] == {"type": "string"}


def test_kubernetes_schemas_keep_only_what_each_kind_reaches(tmp_path: Path) -> None:
    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}"}

    components = {
        "io.k8s.api.core.v1.ConfigMap": {
            "x-kubernetes-group-version-kind": [
                {"group": "", "version": "v1", "kind": "ConfigMap"}
            ],
            "properties": {"metadata": ref("Meta"), "data": {"type": "object"}},
        },
        # Recursive, as JSONSchemaProps is: followed once, not forever.
        "Meta": {"properties": {"owner": ref("Meta"), "name": {"type": "string"}}},
        "Unrelated": {"properties": {"x": {"type": "string"}}},
    }
    (tmp_path / "api__v1_openapi.json").write_text(
        json.dumps({"components": {"schemas": components}})
    )
    (schema,) = kubernetes_schemas(tmp_path, (("v1", "ConfigMap"),)).values()
    assert set(schema["definitions"]) == {"io.k8s.api.core.v1.ConfigMap", "Meta"}
    assert schema["$ref"] == "#/definitions/io.k8s.api.core.v1.ConfigMap"
    meta = schema["definitions"]["Meta"]
    assert meta["properties"]["owner"] == {"$ref": "#/definitions/Meta"}
    assert meta["additionalProperties"] is False


def test_crd_schemas_one_per_served_version() -> None:
    crd = {
        "spec": {
            "group": "kafka.strimzi.io",
            "names": {"kind": "KafkaTopic"},
            "versions": [
                {"name": "v1", "served": True, "schema": {"openAPIV3Schema": {"properties": {}}}},
                {"name": "v1beta2", "served": False, "schema": {"openAPIV3Schema": {}}},
            ],
        }
    }
    assert set(crd_schemas(crd, "test")) == {"kafkatopic-kafka-v1.json"}


def test_committed_schemas_cover_every_kind_and_are_strict() -> None:
    committed = {path.name: json.loads(path.read_text()) for path in SCHEMAS.glob("*.json")}
    assert {file_name(v, k) for v, k in KUBERNETES_KINDS} <= set(committed)
    assert "kafkatopic-kafka-v1beta2.json" not in committed, "Strimzi 1.0 removed v1beta2"
    for name, schema in committed.items():
        for node in _objects(schema):
            if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
                assert node.get("additionalProperties") is not None, name


def test_dashboard_check_mode_reports_a_stale_or_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert render_dashboards.main(["--output-dir", str(tmp_path)]) == 0
    assert render_dashboards.main(["--check-dir", str(tmp_path)]) == 0
    (tmp_path / "kintsugi-sla.json").write_text("{}\n")
    assert render_dashboards.main(["--check-dir", str(tmp_path)]) == 1
    assert "kintsugi-sla.json" in capsys.readouterr().err
    (tmp_path / "kintsugi-sla.json").unlink()
    assert render_dashboards.main(["--check-dir", str(tmp_path)]) == 1
