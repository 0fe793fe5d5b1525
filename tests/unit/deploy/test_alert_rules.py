"""Alerts and dashboards only use metrics the services export, and say what they mean."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.deploy.monitoring_files import (
    DASHBOARDS,
    DATASOURCES,
    PROMETHEUS_OWN,
    SERVICES,
    alert_rules,
    as_promql,
    dashboard_targets,
    exported_metric_names,
    expressions,
    metrics_in,
    runbook_anchors,
    runbook_sections,
)
from tools import render_dashboards, render_prometheus_rule


@pytest.mark.parametrize("expr", expressions())
def test_every_metric_a_query_uses_is_declared_in_the_catalogue(expr: str) -> None:
    used = metrics_in(expr)
    assert used, f"no metric found in {expr!r}: the pattern is wrong"
    assert used - PROMETHEUS_OWN <= exported_metric_names()


def test_every_alert_says_how_urgent_it_is_and_what_to_do() -> None:
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_every_alert_links_to_its_section_of_the_runbook() -> None:
    anchors = runbook_anchors()
    for rule in alert_rules():
        url = rule["annotations"]["runbook_url"]
        assert url == f"docs/runbook.md#{rule['alert'].lower()}", rule["alert"]
        assert rule["alert"].lower() in anchors, f"docs/runbook.md has no ## {rule['alert']}"


def test_every_runbook_section_says_what_it_means_and_what_to_do() -> None:
    for alert, body in runbook_sections().items():
        assert "**What it means**" in body and "**What to do**" in body, alert
    assert {rule["alert"] for rule in alert_rules()} == set(runbook_sections())


def test_each_service_has_an_absent_alert_under_its_scrape_job() -> None:
    absent = {rule["expr"] for rule in alert_rules() if rule["expr"].startswith("absent(")}
    assert absent == {f'absent(up{{job="kintsugi-{service}"}})' for service in SERVICES}


def test_alerts_select_only_jobs_that_are_scraped() -> None:
    jobs = {f"kintsugi-{service}" for service in SERVICES}
    for rule in alert_rules():
        for matcher in re.findall(r'job(=~?)"([^"]+)"', rule["expr"]):
            operator, value = matcher
            matching = {job for job in jobs if re.fullmatch(value, job)}
            assert matching if operator == "=~" else value in jobs, rule["expr"]


def test_committed_prometheus_rule_is_a_fresh_render() -> None:
    committed = render_prometheus_rule.COMMITTED.read_text(encoding="utf-8")
    assert committed == render_prometheus_rule.render(), (
        "run: python -m tools.render_prometheus_rule --output "
        "deploy/k8s/components/monitoring/prometheus-rule.yaml"
    )


def test_runbook_base_makes_absolute_links() -> None:
    rule = yaml.safe_load(render_prometheus_rule.render(runbook_base="https://docs.example/k/"))
    urls = {r["annotations"]["runbook_url"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert all(url.startswith("https://docs.example/k/docs/runbook.md#") for url in urls)


def test_every_dashboard_query_uses_the_datasource_the_viewer_picks() -> None:
    assert DASHBOARDS
    for name, target in dashboard_targets():
        assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, name
    for path in DASHBOARDS:
        variables = {v["name"]: v for v in json.loads(path.read_text())["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"


def test_the_local_stack_provisions_a_prometheus_datasource() -> None:
    (source,) = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    assert source["type"] == "prometheus" and source["isDefault"] is True


def test_every_dashboard_filters_by_namespace_and_the_overview_by_service() -> None:
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        variables = {v["name"] for v in dashboard["templating"]["list"]}
        assert "namespace" in variables, path.name
        for _, target in dashboard_targets([path]):
            assert 'namespace=~"$namespace"' in target["expr"], target["expr"]
            if dashboard["uid"] == "kintsugi-overview":
                assert 'job=~"$service"' in target["expr"], target["expr"]
    overview = json.loads((DASHBOARDS[0].parent / "kintsugi-overview.json").read_text())
    assert "service" in {v["name"] for v in overview["templating"]["list"]}


def test_there_is_one_dashboard_per_service_beside_the_overview() -> None:
    uids = {json.loads(path.read_text())["uid"] for path in DASHBOARDS}
    assert uids == {"kintsugi-overview"} | {f"kintsugi-{service}" for service in SERVICES}


def test_dashboard_rates_use_the_rate_interval_not_fixed_windows() -> None:
    for name, target in dashboard_targets():
        windows = set(re.findall(r"\[([^\]]+)\]", target["expr"]))
        assert windows <= {"$__rate_interval", "$__range"}, (name, target["expr"])


def test_every_panel_says_what_it_shows() -> None:
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            if panel["type"] != "row":
                assert len(panel.get("description", "")) >= 20, (path.name, panel["title"])


def test_committed_dashboards_are_a_fresh_render() -> None:
    committed = {path.name: path.read_text(encoding="utf-8") for path in DASHBOARDS}
    assert committed == render_dashboards.render_all(), (
        "run: python -m tools.render_dashboards --output-dir deploy/monitoring/grafana/dashboards"
    )


def test_dashboards_have_stable_uids_and_titled_panels() -> None:
    uids = set()
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        uids.add(dashboard["uid"])
        assert all(panel["title"] for panel in dashboard["panels"]), path.name
    assert len(uids) == len(DASHBOARDS)


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (make lint installs it)")
    queries = sorted({as_promql(target["expr"]) for _, target in dashboard_targets()})
    assert not [q for q in queries if "$" in q], "a Grafana variable GRAFANA_VARIABLES lacks"
    rules = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [
                    {"record": f"kintsugi:dashboard_query:{n}", "expr": q}
                    for n, q in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
