"""Alerts and dashboards only use metrics the services export, and say what they mean."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.unit.deploy.monitoring_files import (
    DASHBOARDS,
    DATASOURCES,
    PROMETHEUS_OWN,
    alert_rules,
    dashboard_targets,
    exported_metric_names,
    expressions,
    metrics_in,
)


@pytest.mark.parametrize("expr", expressions())
def test_every_metric_a_query_uses_is_declared_in_the_catalogue(expr: str) -> None:
    used = metrics_in(expr)
    assert used, f"no metric found in {expr!r}: the pattern is wrong"
    assert used - PROMETHEUS_OWN <= exported_metric_names()


def test_every_alert_says_how_urgent_it_is_and_what_to_do() -> None:
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_every_dashboard_query_uses_the_provisioned_datasource() -> None:
    uid = yaml.safe_load(DATASOURCES.read_text())["datasources"][0]["uid"]
    assert DASHBOARDS
    for name, target in dashboard_targets():
        assert target["datasource"]["uid"] == uid, name


def test_dashboards_have_stable_uids_and_titled_panels() -> None:
    uids = set()
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        uids.add(dashboard["uid"])
        assert all(panel["title"] for panel in dashboard["panels"]), path.name
    assert len(uids) == len(DASHBOARDS)
