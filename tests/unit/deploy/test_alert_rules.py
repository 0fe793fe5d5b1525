"""Alert rules only use metrics the services actually export (the catalogue)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import kintsugi.common.metrics  # noqa: F401 - registers the catalogue

RULES = Path(__file__).resolve().parents[3] / "deploy" / "monitoring" / "prometheus" / "alerts.yaml"
PROMETHEUS_OWN = {"up"}


def _exported_names() -> set[str]:
    names: set[str] = set()
    for collector in REGISTRY.collect():
        names.update(sample.name for sample in collector.samples)
        names.add(collector.name)
        if collector.type == "counter":  # exposed with the suffix, even before a sample
            names.add(f"{collector.name}_total")
    return names


def test_every_metric_an_alert_uses_is_declared_in_the_catalogue() -> None:
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    used = {
        name
        for rule in rules
        for name in re.findall(r"\b([a-z_]+)(?=\{|\[|\)|\s*[=><]|$)", rule["expr"])
        if name.startswith("kintsugi_") or name in PROMETHEUS_OWN
    }
    assert used, "no metric found in the rules: the pattern is wrong"
    assert used - PROMETHEUS_OWN <= _exported_names()


def test_every_alert_says_how_urgent_it_is_and_what_to_do() -> None:
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    for rule in rules:
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
