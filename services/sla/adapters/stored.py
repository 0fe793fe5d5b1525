"""The clock table's values: a one-line wake-up summary in front of the state.

    b"<next wake-up>;<regime>;<due>,<due>,...\\n<state>"

Instants are epoch seconds; an empty wake-up means nothing is scheduled, an empty due list
that no counted clock is open. The summary is everything the keeper's due-time index and
risk gauges need, so rebuilding them when partitions are assigned (every restart) reads
this line and never decodes the state: a state decode costs tens of microseconds, which
is most of a restart at a million complaints. The summary is derived from the state on
every write, so a replay writes the same bytes.

A value that starts with the state itself (``[``, written before summaries) has no
summary; the keeper then decodes the state, and the next write adds one.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

from services.sla.domain.risk import OpenDeadlines

_END = b"\n"
_STATE_START = b"["


class Summary(NamedTuple):
    wakeup: int | None
    deadlines: OpenDeadlines


def pack(state: bytes, wakeup: int | None, deadlines: OpenDeadlines) -> bytes:
    dues = ",".join(map(str, deadlines.due_at))
    head = f"{'' if wakeup is None else wakeup};{deadlines.regime};{dues}"
    return head.encode() + _END + state


def state_of(value: bytes | None) -> bytes | None:
    """The state inside a stored value (None stays None)."""
    if value is None or value.startswith(_STATE_START):
        return value
    return value[value.index(_END) + 1 :]


def summary_of(value: bytes) -> Summary | None:
    """The summary line, read without touching the state; None for a value without one."""
    if value.startswith(_STATE_START):
        return None
    head = value[: value.index(_END)].decode()
    wakeup, regime, dues = head.split(";")
    return Summary(
        int(wakeup) if wakeup else None,
        OpenDeadlines(
            sys.intern(regime),  # a handful of regimes shared by a million complaints
            tuple(int(due) for due in dues.split(",")) if dues else (),
        ),
    )
