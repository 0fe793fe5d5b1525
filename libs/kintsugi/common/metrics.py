"""The catalogue of every Prometheus metric Kintsugi exports, declared before use.

Each service process registers all of them but only moves its own; Prometheus's ``job``
label tells the services apart, so no ``service`` label is needed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# Values of scrape-time gauges: metric name -> label values -> value.
ScrapeTimeSamples = Mapping[str, Mapping[tuple[str, ...], float]]


class ScrapeTimeGauges(Collector):
    """Labelled gauges computed when Prometheus scrapes, from one source a service binds at
    start (one pass over its state serves every family). Unbound, they have no samples."""

    def __init__(self, *families: tuple[str, str, tuple[str, ...]]) -> None:
        self._families = families  # (name, help, label names)
        self._source: Callable[[], ScrapeTimeSamples] | None = None
        REGISTRY.register(self)

    def bind(self, source: Callable[[], ScrapeTimeSamples] | None) -> None:
        self._source = source

    def describe(self) -> Iterator[GaugeMetricFamily]:
        for name, documentation, labels in self._families:
            yield GaugeMetricFamily(name, documentation, labels=list(labels))

    def collect(self) -> Iterator[GaugeMetricFamily]:
        samples = self._source() if self._source is not None else {}
        for name, documentation, labels in self._families:
            family = GaugeMetricFamily(name, documentation, labels=list(labels))
            for values, value in samples.get(name, {}).items():
                family.add_metric(list(values), value)
            yield family


LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# Kafka plumbing (every consumer and producer).
EVENTS_CONSUMED = Counter(
    "kintsugi_events_consumed_total",
    "Messages taken off a topic, by event type and outcome (handled, skipped, dead_lettered)",
    ["topic", "event_type", "outcome"],
)
EVENT_HANDLING_SECONDS = Histogram(
    "kintsugi_event_handling_seconds",
    "Time to handle one consumed message, including the events it publishes",
    ["event_type"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_PUBLISHED = Counter(
    "kintsugi_events_published_total", "Events published, by event type", ["event_type"]
)
DEAD_LETTERS = Counter(
    "kintsugi_dead_letters_total",
    "Messages sent to the dead-letter topic, by source topic and failure kind",
    ["topic", "kind"],
)
CONSUMER_LAG = Gauge(
    "kintsugi_consumer_lag",
    "Records on a partition not yet handled by this consumer group (queue depth)",
    ["group", "topic", "partition"],
)
CONSUMER_BATCH_RECORDS = Histogram(
    "kintsugi_consumer_batch_records",
    "Records per fetched batch, handled together and committed at once",
    ["group"],
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000),
)
CONSUMER_BATCH_SECONDS = Histogram(
    "kintsugi_consumer_batch_seconds",
    "Time from a batch being fetched to its offsets being committed",
    ["group"],
    buckets=LATENCY_BUCKETS,
)
HANDLER_RETRIES = Counter(
    "kintsugi_handler_retries_total", "Retries of a failed handler before success or DLQ", ["topic"]
)
STATE_UNREADABLE = Counter(
    "kintsugi_state_unreadable_total",
    "Stored per-complaint states found unreadable, by store: skipped by a rebuild or scan, or "
    "the complaint's event dead-lettered at once; other complaints carry on (decision 18)",
    ["store"],
)

# intake
COMPLAINTS_SUBMITTED = Counter(
    "kintsugi_complaints_submitted_total",
    "Complaints submitted (gRPC or raw topic), by channel and outcome (accepted, duplicate, "
    "conflict, invalid, failed); a complaint is accepted once, however often it is resent",
    ["channel", "outcome"],
)
ACTIVITIES_RECORDED = Counter(
    "kintsugi_activities_recorded_total",
    "Activities recorded (gRPC or raw topic), by kind and outcome (accepted, duplicate, "
    "conflict, invalid, unknown_complaint, failed)",
    ["kind", "outcome"],
)
INTAKE_REQUESTS_REFUSED = Counter(
    "kintsugi_intake_requests_refused_total",
    "Intake calls refused before any work, by reason (unauthenticated, permission_denied, "
    "overloaded, source_overloaded, deadline, undecodable)",
    ["reason"],
)
GRPC_REQUEST_SECONDS = Histogram(
    "kintsugi_grpc_request_seconds",
    "gRPC request latency by method and status code",
    ["method", "code"],
    buckets=LATENCY_BUCKETS,
)
GRPC_IN_FLIGHT = Gauge(
    "kintsugi_grpc_in_flight_requests",
    "gRPC requests being handled now, by method (saturation: compare with the limit)",
    ["method"],
)
COMPLAINTS_CLASSIFIED = Counter(
    "kintsugi_complaints_classified_total",
    "Complaints classified, by category, severity and regime",
    ["category", "severity", "regime"],
)

# router
ASSIGNMENTS = Counter(
    "kintsugi_assignments_total",
    "Complaints assigned, by team and assignment kind",
    ["team", "kind"],
)
HANDLER_OPEN_COMPLAINTS = "kintsugi_handler_open_complaints"
ROUTER_QUEUE_DEPTH = "kintsugi_router_queue_depth"
ROUTER_TEAM_UTILISATION = "kintsugi_router_team_utilisation_ratio"
ROUTER_TEAM_CAPACITY_ONLINE = "kintsugi_router_team_capacity_online"
# Only the router deciding now holds every case (decision 17): it alone reports these, so a
# replica that stood by or lost the inbox reports nothing rather than stale figures.
ROUTER_DESK = ScrapeTimeGauges(
    (
        HANDLER_OPEN_COMPLAINTS,
        "Open complaints owned by each handler, reported by the router deciding now",
        ("team", "handler"),
    ),
    (
        ROUTER_QUEUE_DEPTH,
        "Complaints waiting in a team's queue because nobody eligible has room",
        ("team",),
    ),
    (
        ROUTER_TEAM_UTILISATION,
        "Severity-weighted open load of a team's people over the capacity of those online "
        "now; above 1 the people online hold more than they should (+Inf: open work, nobody "
        "online)",
        ("team",),
    ),
    (
        ROUTER_TEAM_CAPACITY_ONLINE,
        "Severity-weighted capacity of a team's people who are online now",
        ("team",),
    ),
)
ROUTER_ESCALATIONS = Counter(
    "kintsugi_router_escalations_total",
    "Escalations announced, by team and chain level (1 = team lead)",
    ["team", "level"],
)
# Minutes to days: a complaint queued overnight waits hours; a direct assignment, seconds.
WAIT_BUCKETS = (1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14400.0, 28800.0, 86400.0)
ROUTER_TIME_TO_ASSIGN_SECONDS = Histogram(
    "kintsugi_router_time_to_assign_seconds",
    "Time from a complaint's classification to its first owner, by team",
    ["team"],
    buckets=WAIT_BUCKETS,
)
ROUTER_QUEUE_WAIT_SECONDS = Histogram(
    "kintsugi_router_queue_wait_seconds",
    "Time queued complaints waited, from classification to their first owner, by team",
    ["team"],
    buckets=WAIT_BUCKETS,
)
ROUTER_CALL_TASKS = Counter(
    "kintsugi_router_call_tasks_total",
    "Rule of three: owners asked to phone the customer, by team",
    ["team"],
)

# sla
CLOCKS_STARTED = Counter(
    "kintsugi_clocks_started_total", "Clocks started, by policy and clock kind", ["policy", "kind"]
)
CLOCK_TRANSITIONS = Counter(
    "kintsugi_clock_transitions_total",
    "Clock transitions (warning, breached, stopped, paused, resumed), by policy and kind",
    ["policy", "kind", "transition"],
)
CLOCKS_OPEN = Gauge("kintsugi_clocks_open", "Complaints with running clocks held by this worker")
SLA_PARTITION_REWINDS = Counter(
    "kintsugi_sla_partition_rewinds_total",
    "Stalled partitions of the sla's consumer (decision 10), by outcome: rewound to their "
    "commit, or stalled_again at the same offset (liveness fails)",
    ["outcome"],
)
CLOCKS_DUE_SOON = "kintsugi_sla_clocks_due_soon"
CLOCKS_OVERDUE_OPEN = "kintsugi_sla_clocks_overdue_open"
CLOCK_RISK = ScrapeTimeGauges(
    (
        CLOCKS_DUE_SOON,
        "Running clocks on this worker's partitions whose deadline falls within the horizon "
        "(1h, 4h, 24h; nested), by complaint regime; paused and finished clocks not counted",
        ("regime", "horizon"),
    ),
    (
        CLOCKS_OVERDUE_OPEN,
        "Clocks on this worker's partitions past their deadline and still open (overdue "
        "internal clocks, or breaches the next tick reports), by complaint regime",
        ("regime",),
    ),
)

# notifier
NOTIFICATIONS = Counter(
    "kintsugi_notifications_total",
    "Customer notifications, by purpose, channel and outcome (sent, failed, duplicate)",
    ["purpose", "channel", "outcome"],
)
NOTIFICATION_DELIVERY_SECONDS = Histogram(
    "kintsugi_notification_delivery_seconds",
    "Time to hand a notification to its provider (e.g. SMTP)",
    ["channel"],
    buckets=LATENCY_BUCKETS,
)
NOTIFICATIONS_PENDING = Gauge(
    "kintsugi_notifications_pending",
    "Complaints with a customer message waiting for a retry on this worker "
    "(responses held for executive review are counted on their own)",
)
NOTIFICATION_OLDEST_PENDING_SECONDS = Gauge(
    "kintsugi_notification_oldest_pending_seconds",
    "How long the longest-waiting pending customer message has been waiting",
)
NOTIFICATIONS_HELD_FOR_REVIEW = Gauge(
    "kintsugi_notifications_held_for_review",
    "Customer responses on this worker held for the executive office's review "
    "(each goes out on approval, or unapproved at the margin before its deadline)",
)
NOTIFICATION_OLDEST_HELD_FOR_REVIEW_SECONDS = Gauge(
    "kintsugi_notification_oldest_held_for_review_seconds",
    "How long the longest-held response has been waiting for executive review",
)
NOTIFICATION_PROVIDER_UP = Gauge(
    "kintsugi_notification_provider_up",
    "1 while a delivery provider's circuit is closed, 0 while it is open or probing",
    ["destination"],
)
