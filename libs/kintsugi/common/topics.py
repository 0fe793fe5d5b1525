"""Every Kafka topic Kintsugi uses, declared once.

The same declarations create topics in development and tests (``bootstrap``) and render
Strimzi ``KafkaTopic`` manifests for Kubernetes, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CleanupPolicy = Literal["delete", "compact", "compact,delete"]

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    purpose: str
    partitions: int = 6
    cleanup_policy: CleanupPolicy = "delete"
    retention_ms: int = 30 * DAY_MS
    extra_config: dict[str, str] = field(default_factory=dict)

    def config(self, replication_factor: int = 1) -> dict[str, str]:
        """Topic config; with three or more replicas an acks=all write survives a broker loss
        only if it reached two of them, hence min.insync.replicas=2."""
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            "min.insync.replicas": str(min_insync_replicas(replication_factor)),
            **self.extra_config,
        }


def min_insync_replicas(replication_factor: int) -> int:
    return 2 if replication_factor >= 3 else 1


# Every partitioned topic keyed by complaint id has the same partition count, so
# partition N of one lines up with partition N of another (co-partitioning): a worker
# owning a complaint's events also owns that complaint's state.
COMPLAINT_PARTITIONS = 6

COMPLAINT_EVENTS = TopicSpec(
    name="kintsugi.complaint-events.v1",
    purpose="Every fact about every complaint (Event envelopes), keyed by complaint id",
    partitions=COMPLAINT_PARTITIONS,
    retention_ms=400 * DAY_MS,
)
RAW_COMPLAINTS = TopicSpec(
    name="kintsugi.complaints-raw.v1",
    purpose="Upstream systems publish SubmitComplaintRequest messages here",
    partitions=COMPLAINT_PARTITIONS,
    retention_ms=14 * DAY_MS,
)
RAW_ACTIVITIES = TopicSpec(
    name="kintsugi.activities-raw.v1",
    purpose="Upstream systems publish RecordActivityRequest messages here",
    partitions=COMPLAINT_PARTITIONS,
    retention_ms=14 * DAY_MS,
)
# Every intake replica reads all of it: the first claim for a complaint or activity id
# decides what that id means. Not compacted: compaction would keep a losing claim written
# after the winning one. Kept as long as the complaint events themselves.
INTAKE_SUBMISSIONS = TopicSpec(
    name="kintsugi.intake-submissions.v1",
    purpose="Intake's ledger: first claim per complaint/activity id, and publication markers",
    partitions=COMPLAINT_PARTITIONS,
    retention_ms=400 * DAY_MS,
)
DEAD_LETTERS = TopicSpec(
    name="kintsugi.dead-letters.v1",
    purpose="Messages a consumer could not process, with the reason (DeadLetter)",
    partitions=3,
    retention_ms=90 * DAY_MS,
)
ROUTER_STATE = TopicSpec(
    name="kintsugi.router-assignments.v1",
    purpose="Router's durable state: current assignment per complaint (compacted)",
    partitions=COMPLAINT_PARTITIONS,
    cleanup_policy="compact",
    retention_ms=-1,
)
# The router decides with every person's load and every customer's owner in view, so its
# decisions have one writer: the events it needs are funnelled, keyed by complaint id, into
# a single partition; the group member that owns it decides, the others stand by.
ROUTER_INBOX = TopicSpec(
    name="kintsugi.router-inbox.v1",
    purpose="Events the router decides on, forwarded from complaint-events to one partition "
    "so one router replica at a time decides (keyed by complaint id)",
    partitions=1,
    retention_ms=7 * DAY_MS,
)
DIRECTORY_UPDATES = TopicSpec(
    name="kintsugi.directory-updates.v1",
    purpose="Workforce management publishes each handler's presence and capacity, keyed by "
    "handler id (compacted; JSON)",
    partitions=1,
    cleanup_policy="compact",
    retention_ms=-1,
)
NOTIFIER_STATE = TopicSpec(
    name="kintsugi.notifier-complaints.v1",
    purpose="Notifier's durable state: contact details and messages sent per complaint (compacted)",
    partitions=COMPLAINT_PARTITIONS,
    cleanup_policy="compact",
    retention_ms=-1,
)
# A customer's daily cap on progress updates spans their complaints, which other replicas
# may hold: each update claims its place here, keyed by customer, and every notifier
# replica reads the whole topic in order to the same verdicts. The cap looks back a day.
NOTIFIER_UPDATE_CLAIMS = TopicSpec(
    name="kintsugi.notifier-update-claims.v1",
    purpose="Progress updates claiming a place under their customer's daily cap, keyed by "
    "customer (a derived id; JSON); read in full by every notifier replica",
    retention_ms=3 * DAY_MS,
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    COMPLAINT_EVENTS,
    RAW_COMPLAINTS,
    RAW_ACTIVITIES,
    INTAKE_SUBMISSIONS,
    DEAD_LETTERS,
    ROUTER_STATE,
    ROUTER_INBOX,
    DIRECTORY_UPDATES,
    NOTIFIER_STATE,
    NOTIFIER_UPDATE_CLAIMS,
)


# The sla service's Faust app names its own topics after its app id (KINTSUGI_SLA_APP_ID),
# not KINTSUGI_TOPIC_PREFIX, and creates them itself when they are missing. They are
# declared here so that Kubernetes can own them as KafkaTopics (replicas, min.insync.replicas)
# and so that the sla's Kafka user can be granted exactly these topics.
SLA_APP_ID = "kintsugi-sla"
SLA_CLOCK_TABLE = "clocks"


def sla_faust_topics(app_id: str = SLA_APP_ID) -> tuple[TopicSpec, ...]:
    """The Faust app's changelog for its clock table and its leader-election topic."""
    return (
        TopicSpec(
            # Faust: f"{app id}-{table name}-changelog"; co-partitioned with the events.
            name=f"{app_id}-{SLA_CLOCK_TABLE}-changelog",
            purpose="The sla's clock table (Faust changelog): every complaint's clocks",
            partitions=COMPLAINT_PARTITIONS,
            cleanup_policy="compact",
            retention_ms=-1,
        ),
        TopicSpec(
            # Faust's LeaderAssignor: f"{app id}-__assignor-__leader", one partition.
            name=f"{app_id}-__assignor-__leader",
            purpose="Faust's leader election among the sla workers",
            partitions=1,
            retention_ms=7 * DAY_MS,
        ),
    )
