"""What the sla worker does about a partition whose records wait without progress."""

from __future__ import annotations

from typing import Any

from faust.types import TP

from kintsugi.common import metrics
from kintsugi.common.logs import get_logger
from kintsugi.common.ops_server import Health

log = get_logger(__name__)


class StallResponder:
    """First time: seek the partitions back to their committed offsets, so Faust fetches
    again the records it dropped (nothing after the commit was handled, and handling is
    idempotent). Stalled again at the same offset: fail liveness and be restarted."""

    def __init__(self, app: Any, topic: str, health: Health) -> None:
        self._app = app
        self._topic = topic
        self._health = health
        self._rewound: dict[int, int] = {}

    async def __call__(self, stalled: dict[int, int]) -> None:
        again = sorted(p for p, offset in stalled.items() if self._rewound.get(p) == offset)
        if again:
            metrics.SLA_PARTITION_REWINDS.labels("stalled_again").inc(len(again))
            self._health.fail(f"{self._topic} partitions {again} stalled again after a rewind")
            return
        await self._app.consumer.seek_wait(
            {TP(self._topic, partition): offset for partition, offset in stalled.items()}
        )
        self._rewound.update(stalled)
        metrics.SLA_PARTITION_REWINDS.labels("rewound").inc(len(stalled))
        log.warning("partitions_rewound", topic=self._topic, offsets=stalled)
