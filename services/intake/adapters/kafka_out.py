"""Records accepted complaints on the complaint-events topic."""

from __future__ import annotations

from kintsugi.common import metrics
from kintsugi.common.kafka import EventPublisher
from services.intake.adapters.protos import events_for
from services.intake.service import AcceptedComplaint


class KafkaAcceptedComplaints:
    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    async def record(self, accepted: AcceptedComplaint) -> None:
        await self._publisher.publish(*events_for(accepted))
        c = accepted.classification
        metrics.COMPLAINTS_CLASSIFIED.labels(c.category, c.severity, c.regime).inc()
