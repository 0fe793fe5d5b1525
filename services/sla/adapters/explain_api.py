"""``GET /clocks/{complaint_id}[?at=]``: every clock of a complaint as it reads at an instant.

Any worker answers. A complaint's clocks live on the worker owning its partition; a worker
asked about a complaint it does not own forwards the request to the owner (named by
Faust's partition assignment, which carries each worker's advertised URL) and relays the
answer. The answer says which worker answered and, when forwarded, which one relayed it.
A forwarded request is marked, so it is answered where it lands and never bounces.

``ApiServer`` serves it on the public API port, apart from the ops port (metrics, probes,
migrations), so clients and network policies can be given one without the other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from kintsugi.common.logs import get_logger
from kintsugi.common.ops_server import HttpServer
from kintsugi.common.stored_state import UnreadableState
from kintsugi.common.timeutil import Clock

log = get_logger(__name__)

FORWARDED_HEADER = "X-Kintsugi-Forwarded-By"
CLOCKS_PATH = "/clocks/{complaint_id}"


class ClockReader(Protocol):
    def explain(self, complaint_id: str, at: datetime) -> list[dict[str, Any]] | None: ...


# The base URL of the worker owning a complaint's clocks; None when unknown or this worker.
OwnerLookup = Callable[[str], str | None]


class ExplainApi:
    def __init__(
        self,
        reader: ClockReader,
        clock: Clock,
        worker: str,
        owner_of: OwnerLookup = lambda _: None,
        forward_timeout_s: float = 5.0,
    ) -> None:
        self._reader = reader
        self._clock = clock
        self._worker = worker
        self._owner_of = owner_of
        self._timeout = aiohttp.ClientTimeout(total=forward_timeout_s)

    async def handle(self, request: web.Request) -> web.Response:
        complaint_id = request.match_info["complaint_id"]
        at = self._clock()
        if "at" in request.query:  # "what will it read on Friday?"
            try:
                at = aware_instant(request.query["at"])
            except ValueError as error:
                return web.json_response({"error": f"at: {error}"}, status=400)
        if FORWARDED_HEADER not in request.headers:
            owner = self._owner_of(complaint_id)
            if owner is not None:
                return await self._forward(owner, request)
        return self._answer(complaint_id, at)

    def _answer(self, complaint_id: str, at: datetime) -> web.Response:
        try:
            explanation = self._reader.explain(complaint_id, at)
        except UnreadableState as unreadable:  # this complaint's alone: others still answer
            return web.json_response(
                {"error": str(unreadable), "answered_by": self._worker}, status=500
            )
        if explanation is None:
            return web.json_response(
                {
                    "error": f"no clocks for complaint {complaint_id}: no classified event "
                    "for it has been handled",
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

    async def _forward(self, owner: str, request: web.Request) -> web.Response:
        url = owner.rstrip("/") + request.rel_url.path_qs
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.get(url, headers={FORWARDED_HEADER: self._worker}) as response,
            ):
                body = await response.json()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            log.warning("explain_forward_failed", owner=owner, error=repr(error))
            return web.json_response(
                {"error": f"the owning worker {owner} did not answer: {error!r}"}, status=503
            )
        if isinstance(body, dict):
            body["forwarded_by"] = self._worker
        return web.json_response(body, status=status)


class ApiServer(HttpServer):
    """``GET /clocks/{complaint_id}`` on its own host and port."""

    def __init__(self, api: ExplainApi, host: str, port: int) -> None:
        super().__init__(host, port, [("GET", CLOCKS_PATH, api.handle)])


def aware_instant(text: str) -> datetime:
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError("an ISO 8601 instant with its UTC offset, e.g. 2026-12-18T16:58:00+00:00")
    return instant
