"""Render Kintsugi's Grafana dashboards: the overview and one per service.

    python -m tools.render_dashboards --output-dir deploy/monitoring/grafana/dashboards
    python -m tools.render_dashboards --check-dir deploy/monitoring/grafana/dashboards

Every dashboard has the same variables: ``datasource`` (any Prometheus), ``namespace`` and,
on the overview, ``service`` (the scrape job, ``kintsugi-<service>``, as the ServiceMonitor
names it). Every query selects on them, every rate uses ``$__rate_interval``, and every
panel says what it shows and what to do about it. Kubernetes gets them as ConfigMaps that
kustomize generates from these files (deploy/monitoring/grafana/dashboards/kustomization.yaml);
the local stack provisions the same files. A unit test fails when a committed file is not a
fresh render.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "deploy" / "monitoring" / "grafana" / "dashboards"
SERVICES = ("intake", "router", "sla", "notifier")
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
_OVERVIEW_SELECTOR = 'namespace=~"$namespace", job=~"$service"'
GRID_WIDTH = 24


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[tuple[str, str], ...]  # (PromQL with {S} for the selector, legend)
    unit: str = "short"
    kind: str = "timeseries"
    width: int = 12


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    selector: str = _OVERVIEW_SELECTOR
    service_variable: bool = True
    tags: tuple[str, ...] = field(default=("kintsugi",))


# --- panels shared by every consumer ------------------------------------------------------


def pipeline_row(title: str = "Kafka pipeline") -> Row:
    return Row(
        title,
        (
            Panel(
                "Consumer lag, by group",
                "Records on the group's partitions not yet handled. Rising for minutes: the "
                "service cannot keep up (router and notifier scale out on it, up to the "
                "partition count) or a dependency is slow. See KintsugiConsumerFallingBehind.",
                (
                    (
                        "sum by (group) (max by (group, topic, partition) "
                        "(kintsugi_consumer_lag{S}))",
                        "{{group}}",
                    ),
                ),
            ),
            Panel(
                "Messages consumed per second, by outcome",
                "handled, skipped (not a type this service needs) or dead_lettered. Any "
                "dead_lettered is a message a person has to look at.",
                (
                    (
                        "sum by (job, outcome) (rate(kintsugi_events_consumed_total{S}"
                        "[$__rate_interval]))",
                        "{{job}} {{outcome}}",
                    ),
                ),
                unit="ops",
            ),
            Panel(
                "Event handling time (p95), by event type",
                "Time to handle one message including what it publishes. A climb here "
                "comes before lag does.",
                (
                    (
                        "histogram_quantile(0.95, sum by (le, event_type) "
                        "(rate(kintsugi_event_handling_seconds_bucket{S}[$__rate_interval])))",
                        "{{event_type}}",
                    ),
                ),
                unit="s",
            ),
            Panel(
                "Batch size and commit time (p95)",
                "Records per fetched batch and the time from fetch to commit. Big batches "
                "with long commits mean the service is working through a backlog.",
                (
                    (
                        "histogram_quantile(0.95, sum by (le, group) "
                        "(rate(kintsugi_consumer_batch_records_bucket{S}[$__rate_interval])))",
                        "{{group}} records",
                    ),
                    (
                        "histogram_quantile(0.95, sum by (le, group) "
                        "(rate(kintsugi_consumer_batch_seconds_bucket{S}[$__rate_interval])))",
                        "{{group}} seconds",
                    ),
                ),
            ),
            Panel(
                "Handler retries and dead letters per minute",
                "Retries are transient failures that later succeeded; dead letters carry "
                "their reason on kintsugi.dead-letters.v1 (see KintsugiDeadLetters).",
                (
                    (
                        "sum by (topic) (rate(kintsugi_handler_retries_total{S}"
                        "[$__rate_interval])) * 60",
                        "retries {{topic}}",
                    ),
                    (
                        "sum by (topic, kind) (rate(kintsugi_dead_letters_total{S}"
                        "[$__rate_interval])) * 60",
                        "dead letters {{topic}} {{kind}}",
                    ),
                ),
            ),
            Panel(
                "Pods up",
                "1 per pod Prometheus scrapes. Fewer than the replicas you expect: see "
                "KintsugiServiceDown and KintsugiServiceAbsent.",
                (("sum by (job) (up{S})", "{{job}}"),),
                kind="stat",
            ),
        ),
    )


SUBMISSIONS = Panel(
    "Complaints submitted per minute, by outcome",
    "accepted; invalid (the caller was told which field and rule); failed (the caller was "
    "told to retry: Kafka unreachable from intake, see KintsugiIntakeRejectingSubmissions).",
    (
        (
            "sum by (outcome) (rate(kintsugi_complaints_submitted_total{S}"
            "[$__rate_interval])) * 60",
            "{{outcome}}",
        ),
    ),
)
SUBMIT_LATENCY = Panel(
    "gRPC latency (p50, p95, p99), by method",
    "Time intake takes to answer upstream systems, including the Kafka write.",
    tuple(
        (
            f"histogram_quantile({q}, sum by (le, method) "
            "(rate(kintsugi_grpc_request_seconds_bucket{S}[$__rate_interval])))",
            f"p{int(q * 100)} {{{{method}}}}",
        )
        for q in (0.5, 0.95, 0.99)
    ),
    unit="s",
)
GRPC_CODES = Panel(
    "gRPC calls per second, by method and code",
    "OK, INVALID_ARGUMENT (the caller's data), UNAVAILABLE (ours: the caller retries).",
    (
        (
            "sum by (method, code) (rate(kintsugi_grpc_request_seconds_count{S}"
            "[$__rate_interval]))",
            "{{method}} {{code}}",
        ),
    ),
    unit="reqps",
)
IN_FLIGHT = Panel(
    "gRPC requests in flight, per pod",
    "Calls being handled right now. The intake autoscaler adds pods when the average per "
    "pod passes its target (deploy/k8s/components/autoscaling).",
    (("sum by (pod) (kintsugi_grpc_in_flight_requests{S})", "{{pod}}"),),
)
CLASSIFIED = Panel(
    "Complaints classified per hour, by regime and severity",
    "Which regulator's clocks apply and how serious the complaints are.",
    (
        (
            "sum by (regime, severity) (rate(kintsugi_complaints_classified_total{S}"
            "[$__rate_interval])) * 3600",
            "{{regime}} {{severity}}",
        ),
    ),
)
ASSIGNMENTS = Panel(
    "Assignments per hour, by team and kind",
    "Who the router gives complaints to; kind says why (new, repeat contact, review).",
    (
        (
            "sum by (team, kind) (rate(kintsugi_assignments_total{S}[$__rate_interval])) * 3600",
            "{{team}} {{kind}}",
        ),
    ),
)
OPEN_PER_HANDLER = Panel(
    "Open complaints per handler",
    "The load the router balances; capacity is in the router's directory. One handler far "
    "above the others: check their capacity and training there.",
    (("max by (team, handler) (kintsugi_handler_open_complaints{S})", "{{team}} {{handler}}"),),
)
# Load and queues come from the router deciding now (decision 17): ``max by`` keeps a
# handover, when two replicas may report for a scrape, from counting a team twice.
QUEUE_DEPTH = Panel(
    "Queued complaints, by team",
    "Complaints waiting because nobody eligible in the team has room. They are assigned in "
    "order as capacity frees, and escalate on their clocks like assigned ones. A queue that "
    "only grows: add people or capacity to that team in the directory.",
    (("max by (team) (kintsugi_router_queue_depth{S})", "{{team}}"),),
)
QUEUE_WAIT = Panel(
    "Queue wait (p50, p95), by team",
    "How long queued complaints waited, from classification to their first owner. Only "
    "complaints that queued count; direct assignments are in time to assign.",
    tuple(
        (
            f"histogram_quantile({q}, sum by (le, team) "
            "(rate(kintsugi_router_queue_wait_seconds_bucket{S}[$__rate_interval])))",
            f"p{int(q * 100)} {{{{team}}}}",
        )
        for q in (0.5, 0.95)
    ),
    unit="s",
)
TEAM_UTILISATION = Panel(
    "Utilisation, by team",
    "Severity-weighted open load of the team's people over the capacity of those online "
    "now. Near 100% new complaints queue; above it, work sits with people who are away "
    "(the absence sweep moves it after the grace period).",
    (("max by (team) (kintsugi_router_team_utilisation_ratio{S})", "{{team}}"),),
    unit="percentunit",
)
ESCALATIONS = Panel(
    "Escalations per hour, by chain level",
    "Clock warnings and breaches escalated to one named person: level 1 the team lead, then "
    "the complaints manager, then the executive office. Level 2 and above mean a warning "
    "did not help in time.",
    (
        (
            "sum by (level) (rate(kintsugi_router_escalations_total{S}[$__rate_interval])) * 3600",
            "level {{level}}",
        ),
    ),
)
TIME_TO_ASSIGN = Panel(
    "Time to assign (p50, p95), by team",
    "From classification to the complaint's first owner, queued or not. The acknowledgement "
    "is signed by that owner, so this delays it.",
    tuple(
        (
            f"histogram_quantile({q}, sum by (le, team) "
            "(rate(kintsugi_router_time_to_assign_seconds_bucket{S}[$__rate_interval])))",
            f"p{int(q * 100)} {{{{team}}}}",
        )
        for q in (0.5, 0.95)
    ),
    unit="s",
)
CLOCKS_OPEN = Panel(
    "Complaints with running clocks",
    "Complaints whose regulatory or internal clocks are running, across sla workers.",
    (("sum(kintsugi_clocks_open{S})", "open"),),
    kind="stat",
    width=6,
)
DEADLINES_MISSED = Panel(
    "Regulatory deadlines missed in the time range",
    "Each one pages (KintsugiRegulatoryDeadlineMissed). Internal service levels are not "
    "counted here.",
    (
        (
            'sum(increase(kintsugi_clock_transitions_total{S, transition="breached", '
            'policy!="internal-service-levels"}[$__range]))',
            "missed",
        ),
    ),
    kind="stat",
    width=6,
)
CLOCKS_STARTED = Panel(
    "Clocks started per hour, by policy and kind",
    "One per clock a complaint's regime, severity, channel and category call for.",
    (
        (
            "sum by (policy, kind) (rate(kintsugi_clocks_started_total{S}"
            "[$__rate_interval])) * 3600",
            "{{policy}} {{kind}}",
        ),
    ),
)
CLOCK_RISK = Panel(
    "Clock warnings, updates due and breaches per hour, by policy",
    "The SLA risk: warnings come before breaches; a rising line means deadlines are "
    "getting close across many complaints. Breaches of regulatory policies page.",
    (
        (
            "sum by (policy, transition) (rate(kintsugi_clock_transitions_total{S, "
            'transition=~"warning|customer_update_due|breached"}[$__rate_interval])) * 3600',
            "{{policy}} {{transition}}",
        ),
    ),
)
CLOCKS_DUE_SOON = Panel(
    "SLA risk: clocks due soon by regime",
    "Running clocks whose deadline falls within the next 1h, 4h or 24h (nested: a clock due "
    "in 30 minutes counts in all three), by the complaint's regime, and open clocks already "
    "past due. Paused and finished clocks are not counted. A rising 1h line is the queue "
    "to work first; regulatory clocks past due page as KintsugiRegulatoryDeadlineMissed.",
    (
        (
            "sum by (regime, horizon) (kintsugi_sla_clocks_due_soon{S})",
            "{{regime}} within {{horizon}}",
        ),
        ("sum by (regime) (kintsugi_sla_clocks_overdue_open{S})", "{{regime}} overdue"),
    ),
)
PARTITION_REWINDS = Panel(
    "Stalled partitions rewound per hour, by outcome",
    "faust-streaming can lose its place on a partition after a rebalance (decision 10): "
    "the sla's progress watch rewinds a partition whose records wait without a commit "
    "(rewound), and fails liveness if it stalls again at the same offset (stalled_again). "
    "See KintsugiSlaPartitionStalled.",
    (
        (
            "sum by (outcome) (rate(kintsugi_sla_partition_rewinds_total{S}"
            "[$__rate_interval])) * 3600",
            "{{outcome}}",
        ),
    ),
)
NOTIFICATIONS = Panel(
    "Customer notifications per hour, by purpose and outcome",
    "sent, failed (the notification-failed event says why; see "
    "KintsugiCustomerNotificationsFailing), duplicate (a replay, not re-sent).",
    (
        (
            "sum by (purpose, outcome) (rate(kintsugi_notifications_total{S}"
            "[$__rate_interval])) * 3600",
            "{{purpose}} {{outcome}}",
        ),
    ),
)
DELIVERY_TIME = Panel(
    "Delivery time (p95), by channel",
    "Time to hand a message to its provider (SMTP relay). A climb here shows up as notifier "
    "lag next.",
    (
        (
            "histogram_quantile(0.95, sum by (le, channel) "
            "(rate(kintsugi_notification_delivery_seconds_bucket{S}[$__rate_interval])))",
            "{{channel}}",
        ),
    ),
    unit="s",
)
MESSAGES_WAITING = Panel(
    "Customer messages waiting",
    "Complaints with a message waiting for its next attempt (a failing provider, quiet "
    "hours, the daily cap), and final or holding responses held for the executive "
    "office's review (rule 10). A held response goes out when a reviewer records a note "
    "on the complaint, or unapproved at EXECUTIVE_REVIEW_MARGIN_H before its regulatory "
    "deadline: a rising held count means the office is behind, not that anything is late.",
    (
        ("sum(kintsugi_notifications_pending{S})", "waiting for a retry"),
        ("sum(kintsugi_notifications_held_for_review{S})", "held for executive review"),
    ),
)
LONGEST_WAIT = Panel(
    "Longest wait: retries and executive review",
    "How long the oldest message has waited since its first attempt (past an hour pages as "
    "KintsugiNotificationsOverdue), and how long the oldest held response has waited for "
    "the executive office. Holds are expected to last days; one that outlives the office's "
    "usual turnaround is worth a call to the office.",
    (
        ("max(kintsugi_notification_oldest_pending_seconds{S})", "oldest retry"),
        (
            "max(kintsugi_notification_oldest_held_for_review_seconds{S})",
            "oldest held for review",
        ),
    ),
    unit="s",
)
EVENTS_PUBLISHED = Panel(
    "Events published per minute, by type",
    "What this service tells the rest of the system.",
    (
        (
            "sum by (event_type) (rate(kintsugi_events_published_total{S}[$__rate_interval])) * 60",
            "{{event_type}}",
        ),
    ),
)


def _service(name: str, title: str, description: str, rows: tuple[Row, ...]) -> Dashboard:
    return Dashboard(
        uid=f"kintsugi-{name}",
        title=f"Kintsugi {name}",
        description=description,
        rows=(Row(title, (*rows[0].panels, EVENTS_PUBLISHED)), *rows[1:], pipeline_row()),
        selector=f'namespace=~"$namespace", job="kintsugi-{name}"',
        service_variable=False,
        tags=("kintsugi", name),
    )


DASHBOARD_SET: tuple[Dashboard, ...] = (
    Dashboard(
        uid="kintsugi-overview",
        title="Kintsugi overview",
        description="Complaints from submission to acknowledgement, their clocks, and the "
        "health of the pipeline. One dashboard per service has the detail.",
        rows=(
            Row("Complaints", (SUBMISSIONS, CLASSIFIED, ASSIGNMENTS, NOTIFICATIONS)),
            Row("SLA risk", (CLOCKS_OPEN, DEADLINES_MISSED, CLOCK_RISK, CLOCKS_DUE_SOON)),
            Row("Queues and escalations", (QUEUE_DEPTH, TEAM_UTILISATION, ESCALATIONS, QUEUE_WAIT)),
            pipeline_row("Pipeline health"),
        ),
    ),
    _service(
        "intake",
        "Submissions",
        "The gRPC API and the raw-topic consumer: what upstream systems send and how fast "
        "intake answers.",
        (Row("Submissions", (SUBMISSIONS, GRPC_CODES, SUBMIT_LATENCY, IN_FLIGHT, CLASSIFIED)),),
    ),
    _service(
        "router",
        "Routing",
        "Who gets which complaint, how full each team is, what waits, and what escalates.",
        (
            Row("Routing", (ASSIGNMENTS, OPEN_PER_HANDLER, TIME_TO_ASSIGN)),
            Row("Queues and escalations", (QUEUE_DEPTH, QUEUE_WAIT, TEAM_UTILISATION, ESCALATIONS)),
        ),
    ),
    _service(
        "sla",
        "Clocks",
        "Every regulatory and internal clock: started, warned, breached, stopped.",
        (
            Row(
                "Clocks",
                (CLOCKS_OPEN, DEADLINES_MISSED, CLOCKS_STARTED, CLOCK_RISK, CLOCKS_DUE_SOON),
            ),
            Row("Consumer watch", (PARTITION_REWINDS,)),
        ),
    ),
    _service(
        "notifier",
        "Customer messages",
        "What customers are told, on which channel, and how fast it leaves.",
        (
            Row(
                "Customer messages",
                (NOTIFICATIONS, DELIVERY_TIME, MESSAGES_WAITING, LONGEST_WAIT),
            ),
        ),
    ),
)


# --- rendering ----------------------------------------------------------------------------


def _expr(template: str, selector: str) -> str:
    """``{S}`` becomes the dashboard's selector, ``{S, x="y"}`` the selector and more."""
    return template.replace("{S}", "{" + selector + "}").replace("{S, ", "{" + selector + ", ")


def _variables(dashboard: Dashboard) -> list[dict[str, Any]]:
    def query(name: str, label: str, expr: str, all_value: str) -> dict[str, Any]:
        return {
            "name": name,
            "label": label,
            "type": "query",
            "datasource": DATASOURCE,
            "query": {
                "query": f"label_values({expr}, {name if name != 'service' else 'job'})",
                "refId": name,
            },
            "definition": f"label_values({expr}, {name if name != 'service' else 'job'})",
            "refresh": 2,
            "includeAll": True,
            "multi": True,
            "allValue": all_value,
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "sort": 1,
        }

    variables = [
        {
            "name": "datasource",
            "label": "Prometheus",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "refresh": 1,
        },
        # ".*" also matches a missing label: the local stack's Prometheus has no namespaces.
        query("namespace", "Namespace", 'up{job=~"kintsugi-.*"}', ".*"),
    ]
    if dashboard.service_variable:
        variables.append(
            query(
                "service",
                "Service",
                'up{job=~"kintsugi-.*", namespace=~"$namespace"}',
                "kintsugi-.*",
            )
        )
    return variables


def _panel(panel: Panel, panel_id: int, x: int, y: int, selector: str) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": panel.width, "h": 8},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {},
        "targets": [
            {
                "datasource": DATASOURCE,
                "expr": _expr(expr, selector),
                "legendFormat": legend,
                "refId": chr(ord("A") + index),
            }
            for index, (expr, legend) in enumerate(panel.queries)
        ],
    }


def dashboard_json(dashboard: Dashboard) -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y = 0
    for row in dashboard.rows:
        panels.append(
            {
                "id": len(panels) + 1,
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": y, "w": GRID_WIDTH, "h": 1},
                "panels": [],
            }
        )
        y += 1
        x = 0
        for panel in row.panels:
            if x + panel.width > GRID_WIDTH:
                x, y = 0, y + 8
            panels.append(_panel(panel, len(panels) + 1, x, y, dashboard.selector))
            x += panel.width
        y += 8
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": list(dashboard.tags),
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "editable": False,
        "graphTooltip": 1,
        "templating": {"list": _variables(dashboard)},
        "annotations": {"list": []},
        "links": [
            {
                "title": "Kintsugi",
                "type": "dashboards",
                "tags": ["kintsugi"],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "panels": panels,
    }


def render_all() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {
        f"{dashboard.uid}.json": json.dumps(dashboard_json(dashboard), indent=2) + "\n"
        for dashboard in DASHBOARD_SET
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.render_dashboards", description=__doc__)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--output-dir", type=Path)
    target.add_argument("--check-dir", type=Path)
    args = parser.parse_args(argv)
    rendered = render_all()
    if args.check_dir is not None:
        committed = {
            path.name: path.read_text(encoding="utf-8") for path in args.check_dir.glob("*.json")
        }
        if committed != rendered:
            stale = sorted(
                set(committed) ^ set(rendered)
                | {name for name in rendered if committed.get(name) != rendered[name]}
            )
            print(
                f"dashboards out of date ({', '.join(stale)}); run: python -m "
                f"tools.render_dashboards --output-dir {args.check_dir}",
                file=sys.stderr,
            )
            return 1
        return 0
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for stale in set(p.name for p in args.output_dir.glob("*.json")) - set(rendered):
        (args.output_dir / stale).unlink()
    for name, text in rendered.items():
        (args.output_dir / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
