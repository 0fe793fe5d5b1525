"""Faust's consumer, committing only offsets every record before has been handled up to.

faust-streaming commits the run of consecutive acknowledged offsets, and holds back when
the run does not start at the committed offset - unless exactly one offset is missing:
its guard is ``min(acked) - committed > 1`` (upstream issue #606; fix proposed in
#707). A single record that never reached the agent (dropped around a rebalance, decision
10) or was still being handled is then committed past and never handled. ``make chaos``
lost a complaint's ``classified`` event (no clocks) and customer replies (clocks never
resumed) this way, with every consumer group at lag 0, so the progress watch saw nothing.

Here the commit waits until the committed offset itself is acknowledged (or is a gap
Faust saw in the fetched offsets, as compaction or transaction markers leave). A record
that never comes leaves the commit where it is; the progress watch then finds the
partition stalled and rewinds it, and the record is fetched again.

That guard needs the committed offset, and Faust does not always hold one: it forgets it
when a partition is revoked, learns it again only when recovery ends (``perform_seek``),
and stores None for a group that committed 0 or never committed. Faust's periodic commit
does not wait for recovery, so acknowledgements arriving meanwhile (a batch from before
the rebalance finishing late) were committed as they stood: ``make chaos`` lost a
``classified`` this way on a partition handed back to the same worker. So nothing is
committed for a partition whose committed offset is unknown, and after the seek an unknown
one is read as the partition's first offset (where an ``earliest`` reset starts).
"""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.consumer import ensure_TP
from faust.transport.drivers.aiokafka import Consumer, Transport
from faust.types import TP


class ContiguousCommitConsumer(Consumer):
    def _new_offset(self, tp: TP) -> int | None:
        committed = self._committed_offset[tp]
        if committed is None:
            return None  # revoked, or assigned and not yet seeked: acks wait for the seek
        if self._acked[tp] and not self._handled_or_gap(tp, committed):
            return None  # the next record to commit has not been handled
        new_offset: int | None = super()._new_offset(tp)
        return new_offset

    async def perform_seek(self) -> None:
        await super().perform_seek()
        unknown = [
            tp
            for tp in self.assignment()
            if self.app.topics.acks_enabled_for(tp.topic) and self._committed_offset[tp] is None
        ]
        if unknown:
            earliest = await self.earliest_offsets(*unknown)
            self._committed_offset.update({ensure_TP(tp): at for tp, at in earliest.items()})

    def _handled_or_gap(self, tp: TP, offset: int) -> bool:
        # The list too: Faust moves the gaps it merged into it out of its gap tree.
        return (
            offset in self._acked_index[tp]
            or offset in self._acked[tp]
            or bool(self._gap[tp].at(offset))
        )


class ContiguousCommitTransport(Transport):
    Consumer = ContiguousCommitConsumer


def use_contiguous_commits(app: faust.App) -> None:
    """Before anything asks the app for its consumer (declaring agents and tables does)."""
    transport: Any = ContiguousCommitTransport(app.conf.broker_consumer, app)
    app.transport = transport
