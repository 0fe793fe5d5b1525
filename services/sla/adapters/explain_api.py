"""``GET /clocks/{complaint_id}[?at=]``: every clock of a complaint as it reads at an instant."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from aiohttp import web

from kintsugi.common.timeutil import Clock


class ClockReader(Protocol):
    def explain(self, complaint_id: str, at: datetime) -> list[dict[str, Any]] | None: ...


class ExplainApi:
    def __init__(self, reader: ClockReader, clock: Clock, worker: str) -> None:
        self._reader = reader
        self._clock = clock
        self._worker = worker

    async def handle(self, request: web.Request) -> web.Response:
        complaint_id = request.match_info["complaint_id"]
        at = self._clock()
        if "at" in request.query:  # "what will it read on Friday?"
            try:
                at = aware_instant(request.query["at"])
            except ValueError as error:
                return web.json_response({"error": f"at: {error}"}, status=400)
        explanation = self._reader.explain(complaint_id, at)
        if explanation is None:
            return web.json_response(
                {
                    "error": f"no clocks for complaint {complaint_id} on this worker",
                    "answered_by": self._worker,
                },
                status=404,
            )
        return web.json_response(
            {
                "complaint_id": complaint_id,
                "at": at.isoformat(),
                "answered_by": self._worker,
                "clocks": explanation,
            }
        )


def aware_instant(text: str) -> datetime:
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError("an ISO 8601 instant with its UTC offset, e.g. 2026-12-18T16:58:00+00:00")
    return instant
