"""The PromQL in Kintsugi's alert rules and dashboards, and the metrics it names."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import REGISTRY

import kintsugi.common.metrics  # noqa: F401 - registers the catalogue

ROOT = Path(__file__).resolve().parents[3]
MONITORING = ROOT / "deploy" / "monitoring"
RUNBOOK = ROOT / "docs" / "runbook.md"
SERVICES = ("intake", "router", "sla", "notifier")
ALERT_RULES = MONITORING / "prometheus" / "alerts.yaml"
DASHBOARDS = sorted((MONITORING / "grafana" / "dashboards").glob("*.json"))
DATASOURCES = MONITORING / "grafana" / "provisioning" / "datasources" / "kintsugi.yaml"
PROMETHEUS_OWN = {"up"}
_METRIC = re.compile(r"\b(kintsugi_[a-z_]+|up)\b(?!\s*\()")


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERT_RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def runbook_sections() -> dict[str, str]:
    """Alert name -> the text of its ``## <AlertName>`` section in docs/runbook.md."""
    sections: dict[str, str] = {}
    current = None
    for line in RUNBOOK.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = line.removeprefix("## ").strip()
            sections[current] = ""
        elif line.startswith("# "):
            current = None
        elif current is not None:
            sections[current] += line + "\n"
    return sections


def runbook_anchors() -> set[str]:
    """The anchors GitHub gives the runbook's sections (lowercase, no punctuation)."""
    return {
        re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-") for title in runbook_sections()
    }


def dashboard_targets(paths: list[Path] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(dashboard file name, target) for every query on every panel."""
    found = []
    for path in DASHBOARDS if paths is None else paths:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                found.append((path.name, target))
    return found


# What Grafana puts in place of its variables, so that a dashboard query is plain PromQL
# a real Prometheus (or promtool) can parse: "all namespaces", "every Kintsugi service".
GRAFANA_VARIABLES = {
    "$__rate_interval": "2m",
    "$__range": "6h",
    "$namespace": ".*",
    "$service": "kintsugi-.*",
}


def as_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def expressions() -> list[str]:
    """Every alert and dashboard query, as the PromQL Prometheus evaluates."""
    return [r["expr"] for r in alert_rules()] + [
        as_promql(t["expr"]) for _, t in dashboard_targets()
    ]


def metrics_in(expr: str) -> set[str]:
    return set(_METRIC.findall(expr))


def exported_metric_names() -> set[str]:
    names: set[str] = set()
    for collector in REGISTRY.collect():
        names.update(sample.name for sample in collector.samples)
        names.add(collector.name)
        if collector.type == "counter":  # exposed with the suffix, even before a sample
            names.add(f"{collector.name}_total")
        if collector.type == "histogram":
            names.update(f"{collector.name}_{part}" for part in ("bucket", "sum", "count"))
    return names
