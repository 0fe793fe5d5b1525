"""A complaint's stored state that this build cannot read harms that complaint alone.

Services keep per-complaint state (compacted topics, tables) and decode it when used. A
value may be unreadable: damaged, or written by a newer version before a rollback. Then:

- a rebuild or scan over every complaint (an index, a retry pass, a migration) skips it,
  logging the complaint and counting it, and carries on with the others;
- an event for that complaint is dead-lettered at once (``UnreadableState`` is a
  ``PermanentFailure``): retrying would read the same bytes again.

Either way it is logged as ``stored_state_unreadable`` and counted in
``kintsugi_state_unreadable_total{store}``. The reason names the complaint and the error's
kind and message, never the stored bytes (they may hold contact details).
"""

from __future__ import annotations

from kintsugi.common import metrics
from kintsugi.common.kafka import PermanentFailure
from kintsugi.common.logs import get_logger

log = get_logger(__name__)


class UnreadableState(PermanentFailure):
    """The stored state of one complaint cannot be decoded by this build."""

    def __init__(self, store: str, complaint_id: str, error: BaseException) -> None:
        self.store = store
        self.complaint_id = complaint_id
        super().__init__(
            f"stored {store} state of complaint {complaint_id} is unreadable "
            f"({type(error).__name__}: {error}); its events cannot be handled until the "
            "state is repaired or a build that reads it runs"
        )


def unreadable(store: str, complaint_id: str, error: BaseException) -> UnreadableState:
    """Log and count an unreadable state; the error to raise on an event's path."""
    found = UnreadableState(store, complaint_id, error)
    metrics.STATE_UNREADABLE.labels(store).inc()
    log.error(
        "stored_state_unreadable",
        store=store,
        complaint_id=complaint_id,
        error=f"{type(error).__name__}: {error}",
    )
    return found
