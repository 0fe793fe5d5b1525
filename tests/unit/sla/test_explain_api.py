"""Any worker answers /clocks/{id}: the owner from its table, the others by forwarding."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from services.sla.adapters.explain_api import ApiServer, ExplainApi

NOW = datetime(2026, 12, 18, 16, 58, tzinfo=UTC)


class Clocks:
    def __init__(self, held: set[str]) -> None:
        self.held = held
        self.asked_at: list[datetime] = []

    def explain(self, complaint_id: str, at: datetime) -> list[dict[str, Any]] | None:
        self.asked_at.append(at)
        return [{"clock_id": "fca-ack"}] if complaint_id in self.held else None


def _app(api: ExplainApi) -> web.Application:
    app = web.Application()
    app.router.add_get("/clocks/{complaint_id}", api.handle)
    return app


@pytest.fixture
async def two_workers() -> AsyncIterator[tuple[TestClient, TestClient, Clocks]]:
    owner_clocks = Clocks({"C-1"})
    owner = TestServer(_app(ExplainApi(owner_clocks, lambda: NOW, "sla-0")))
    await owner.start_server()
    owner_url = str(owner.make_url(""))
    other = TestServer(
        _app(ExplainApi(Clocks(set()), lambda: NOW, "sla-1", owner_of=lambda _: owner_url))
    )
    async with TestClient(owner) as owner_client, TestClient(other) as other_client:
        yield owner_client, other_client, owner_clocks


async def test_the_owner_answers_from_its_table(two_workers) -> None:  # type: ignore[no-untyped-def]
    owner, _, _ = two_workers
    response = await owner.get("/clocks/C-1")
    body = await response.json()
    assert response.status == 200
    assert body["answered_by"] == "sla-0" and "forwarded_by" not in body


async def test_another_worker_forwards_to_the_owner_and_says_so(two_workers) -> None:  # type: ignore[no-untyped-def]
    _, other, owner_clocks = two_workers
    response = await other.get("/clocks/C-1", params={"at": "2027-01-04T09:00:00+00:00"})
    body = await response.json()
    assert response.status == 200
    assert body["answered_by"] == "sla-0" and body["forwarded_by"] == "sla-1"
    assert body["clocks"] == [{"clock_id": "fca-ack"}]
    assert owner_clocks.asked_at == [datetime(2027, 1, 4, 9, 0, tzinfo=UTC)]


async def test_an_unknown_complaint_is_a_404_with_a_reason_from_any_worker(two_workers) -> None:  # type: ignore[no-untyped-def]
    _, other, _ = two_workers
    response = await other.get("/clocks/NOPE")
    body = await response.json()
    assert response.status == 404
    assert "no clocks for complaint NOPE" in body["error"]


async def test_an_instant_without_an_offset_is_refused_naming_the_parameter(two_workers) -> None:  # type: ignore[no-untyped-def]
    owner, _, _ = two_workers
    response = await owner.get("/clocks/C-1", params={"at": "2027-01-04T09:00:00"})
    assert response.status == 400
    assert (await response.json())["error"].startswith("at: ")


async def test_an_unreachable_owner_is_a_503_naming_it() -> None:
    api = ExplainApi(Clocks(set()), lambda: NOW, "sla-1", owner_of=lambda _: "http://127.0.0.1:9")
    async with TestClient(TestServer(_app(api))) as client:
        response = await client.get("/clocks/C-1")
        assert response.status == 503
        assert "127.0.0.1:9" in (await response.json())["error"]


async def test_the_api_server_answers_on_its_own_port() -> None:
    server = ApiServer(ExplainApi(Clocks({"C-1"}), lambda: NOW, "sla-0"), "127.0.0.1", 0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            base = f"http://127.0.0.1:{server.bound_port}"
            async with session.get(f"{base}/clocks/C-1") as answered:
                body = await answered.json()
            async with session.get(f"{base}/metrics") as elsewhere:
                status = elsewhere.status
    finally:
        await server.stop()

    assert body["answered_by"] == "sla-0"
    assert status == 404  # metrics and probes stay on the ops port
