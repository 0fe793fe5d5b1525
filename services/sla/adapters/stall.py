"""What the sla worker does about a partition whose records wait without progress."""

from __future__ import annotations

from typing import Any

from aiokafka.errors import IllegalStateError
from faust.types import TP

from kintsugi.common import metrics
from kintsugi.common.logs import get_logger
from kintsugi.common.ops_server import Health

log = get_logger(__name__)


class StallResponder:
    """First time: seek the partitions back to their committed offsets, so Faust fetches
    again the records it dropped (nothing after the commit was handled, and handling is
    idempotent). Stalled again at the same offset: fail liveness and be restarted.

    The probe reports the whole group's partitions; a worker acts only on those its own
    consumer holds (a seek on any other raises ``IllegalStateError`` and crashed the
    worker, found by ``make chaos``). Their owner's watch sees the same stall."""

    def __init__(self, app: Any, topic: str, health: Health) -> None:
        self._app = app
        self._topic = topic
        self._health = health
        self._rewound: dict[int, int] = {}

    async def __call__(self, stalled: dict[int, int]) -> None:
        held = self._app.consumer.assignment()
        assigned = {tp.partition for tp in held if tp.topic == self._topic}
        own = {p: offset for p, offset in stalled.items() if p in assigned}
        if not own:
            return
        again = sorted(p for p, offset in own.items() if self._rewound.get(p) == offset)
        if again:
            metrics.SLA_PARTITION_REWINDS.labels("stalled_again").inc(len(again))
            self._health.fail(f"{self._topic} partitions {again} stalled again after a rewind")
            return
        try:
            await self._app.consumer.seek_wait(
                {TP(self._topic, partition): offset for partition, offset in own.items()}
            )
        except IllegalStateError as error:
            # A rebalance took a partition between the check above and the seek; the
            # next check decides again with the new assignment.
            log.warning("rewind_skipped_partition_moved", topic=self._topic, error=repr(error))
            return
        self._rewound.update(own)
        metrics.SLA_PARTITION_REWINDS.labels("rewound").inc(len(own))
        log.warning("partitions_rewound", topic=self._topic, offsets=own)
