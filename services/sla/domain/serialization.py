"""Compact, exact serialisation of a complaint's clock state.

The format is minified JSON (readable in a debugger, no extra dependency):

    [1, complaint_id, calendar_id, received_at, [clock, ...]]
    [2, complaint_id, calendar_id, received_at, [clock, ...], [applied cause, ...]]
    [3, complaint_id, calendar_id, received_at, [clock, ...], [applied cause, ...],
        [severity, channel, category]]

The first item is the format version and `received_at` epoch seconds. Version 2 adds the
fingerprints of the milestone events already applied (so a replayed one is recognised); it
is written only when there are some, so state without them keeps its version 1 bytes.
Version 3 adds the facts a clock's applicability is decided on (severity, channel,
normalised category), so a policy migration can tell which clocks of a new version apply;
state started before it has none, and a migration then only re-plans clocks by id.

Each clock is a positional list in `ClockRecord` field order, with instants stored as
offsets (seconds) to keep numbers short: `started_at` from `received_at`, every other
instant from `started_at`.
The last field is the policy version the clock is pinned to (1 when absent, so state
written before versions existed reads as version 1). Trailing fields still at their
defaults are omitted. Policies and calendars are not stored,
only clock ids, so the state is restored against whichever policy set is loaded.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from services.sla.domain.clock import ClockRecord, ClockState
from services.sla.domain.errors import StateError

FORMAT_VERSION = 1
WITH_CAUSES_VERSION = 2
WITH_FACTS_VERSION = 3
_LENGTHS = {FORMAT_VERSION: 5, WITH_CAUSES_VERSION: 6, WITH_FACTS_VERSION: 7}
# Defaults of the optional trailing fields, from `anchor_at` on; None = absent instant.
_TRAILING_DEFAULTS: tuple[int | None, ...] = (0, 0, 0, 0, None, None, 0, 0, 1)
_REQUIRED_FIELDS = 7
_ALL_FIELDS = _REQUIRED_FIELDS + len(_TRAILING_DEFAULTS)
# Exact types: JSON true/false decode to bool, which must not pass for an integer.
_INT_ONLY = {int}
_INT_OR_NONE = {int, type(None)}
# Instants a calendar can still work from (years 1000 to 9000), and the longest span stored
# (about 950 years): no instant plus or minus a span leaves the years a datetime holds, so
# a damaged number is refused here rather than overflowing in every tick.
_EARLIEST = int(dt.datetime(1000, 1, 1, tzinfo=dt.UTC).timestamp())
_LATEST = int(dt.datetime(9000, 1, 1, tzinfo=dt.UTC).timestamp())
_LONGEST = 30_000_000_000
# Counts (cycle, warned percent, pauses, policy version) fit the events' 32-bit fields.
_MOST = 2**31 - 1


class ApplicabilityFacts(NamedTuple):
    """What decides which clocks apply to a complaint, beside its regime."""

    severity: str
    channel: str
    category: str  # normalised


class DecodedState(NamedTuple):
    complaint_id: str
    calendar_id: str
    received_at: int
    clocks: list[ClockRecord]
    applied_causes: tuple[str, ...]
    facts: ApplicabilityFacts | None


def encode_state(
    complaint_id: str,
    calendar_id: str,
    received_at: int,
    clocks: Sequence[ClockRecord],
    applied_causes: Sequence[str] = (),
    facts: ApplicabilityFacts | None = None,
) -> bytes:
    if facts is not None:
        version = WITH_FACTS_VERSION
    else:
        version = WITH_CAUSES_VERSION if applied_causes else FORMAT_VERSION
    body: list[Any] = [
        version,
        complaint_id,
        calendar_id,
        received_at,
        [_encode(c, received_at) for c in clocks],
    ]
    if version >= WITH_CAUSES_VERSION:
        body.append(list(applied_causes))
    if facts is not None:
        body.append(list(facts))
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def decode_state(data: bytes) -> DecodedState:
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StateError(f"clock state is not valid JSON: {error}") from error
    if not isinstance(body, list) or not body or type(body[0]) is not int:
        raise StateError(f"clock state is not format version {', '.join(map(str, _LENGTHS))}")
    if _LENGTHS.get(body[0]) != len(body):
        raise StateError(f"clock state is not format version {', '.join(map(str, _LENGTHS))}")
    _, complaint_id, calendar_id, received_at, clocks, *rest = body
    if not (isinstance(complaint_id, str) and isinstance(calendar_id, str)):
        raise StateError("clock state: complaint and calendar ids must be strings")
    if type(received_at) is not int or not isinstance(clocks, list):
        raise StateError("clock state: malformed header")
    if not _EARLIEST <= received_at <= _LATEST:
        raise StateError("clock state: received_at out of range")
    causes = rest[0] if rest else []
    if not isinstance(causes, list) or not all(isinstance(c, str) for c in causes):
        raise StateError("clock state: applied causes must be a list of strings")
    facts = rest[1] if len(rest) > 1 else None
    if facts is not None and (
        not isinstance(facts, list) or len(facts) != 3 or not all(isinstance(f, str) for f in facts)
    ):
        raise StateError("clock state: facts must be [severity, channel, category]")
    return DecodedState(
        complaint_id,
        calendar_id,
        received_at,
        [_decode(c, received_at) for c in clocks],
        tuple(causes),
        None if facts is None else ApplicabilityFacts(*facts),
    )


def _encode(clock: ClockRecord, received_at: int) -> list[Any]:
    start = clock.started_at
    values: list[Any] = [
        clock.clock_id,
        int(clock.state),
        clock.cycle,
        start - received_at,
        clock.due_at - start,
        clock.budget,
        _offset(clock.next_at, start),
        clock.anchor_at - start,
        clock.consumed,
        clock.warned_percent,
        int(clock.update_sent),
        _offset(clock.ended_at, start),
        _offset(clock.paused_at, start),
        clock.paused_seconds,
        clock.pauses,
        clock.policy_version,
    ]
    while len(values) > _REQUIRED_FIELDS and _is_default(values, len(values) - 1):
        values.pop()
    return values


def _decode(values: object, received_at: int) -> ClockRecord:
    if not isinstance(values, list) or not _REQUIRED_FIELDS <= len(values) <= _ALL_FIELDS:
        raise StateError(f"clock state: malformed clock {values!r}")
    padded = values + list(_TRAILING_DEFAULTS[len(values) - _REQUIRED_FIELDS :])
    clock_id, state, cycle, start_offset, due, budget, next_at, anchor, *rest = padded
    consumed, warned, update_sent, ended, paused_at, paused_seconds, pauses, version = rest
    integers = (state, cycle, start_offset, due, budget, anchor, consumed, warned, update_sent)
    if (
        type(clock_id) is not str
        or set(map(type, (*integers, paused_seconds, pauses, version))) != _INT_ONLY
        or not set(map(type, (next_at, ended, paused_at))) <= _INT_OR_NONE
        or state not in ClockState._value2member_map_
    ):
        raise StateError(f"clock state: malformed clock {values!r}")
    if not (
        0 <= cycle <= _MOST
        and 0 <= budget <= _MOST
        and 0 <= consumed <= _MOST
        and 0 <= warned <= _MOST
        and 0 <= update_sent <= _MOST
        and 0 <= paused_seconds <= _MOST
        and 0 <= pauses <= _MOST
        and 0 <= version <= _MOST
        and -_LONGEST <= start_offset <= _LONGEST
        and -_LONGEST <= due <= _LONGEST
        and -_LONGEST <= anchor <= _LONGEST
        and (next_at is None or -_LONGEST <= next_at <= _LONGEST)
        and (ended is None or -_LONGEST <= ended <= _LONGEST)
        and (paused_at is None or -_LONGEST <= paused_at <= _LONGEST)
    ):
        raise StateError(f"clock state: a number out of range in clock {clock_id!r}")
    start = received_at + start_offset
    if not _EARLIEST <= start <= _LATEST:
        raise StateError(f"clock state: clock {clock_id!r} starts out of range")
    return ClockRecord(
        clock_id=clock_id,
        state=ClockState(state),
        cycle=cycle,
        started_at=start,
        due_at=start + due,
        budget=budget,
        next_at=_instant(next_at, start),
        anchor_at=start + anchor,
        consumed=consumed,
        warned_percent=warned,
        update_sent=bool(update_sent),
        ended_at=_instant(ended, start),
        paused_at=_instant(paused_at, start),
        paused_seconds=paused_seconds,
        pauses=pauses,
        policy_version=version,
    )


def _is_default(values: list[Any], index: int) -> bool:
    default = _TRAILING_DEFAULTS[index - _REQUIRED_FIELDS] if index >= _REQUIRED_FIELDS else 0
    return values[index] is None if default is None else values[index] == default


def _offset(instant: int | None, start: int) -> int | None:
    return None if instant is None else instant - start


def _instant(offset: int | None, start: int) -> int | None:
    return None if offset is None else start + offset
