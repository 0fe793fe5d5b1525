"""The operations endpoint: /readyz names what is not ready; /metrics is Prometheus text."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web

from kintsugi.common import metrics
from kintsugi.common.ops_server import Health, OpsServer


@pytest.fixture
def health() -> Health:
    return Health()


@pytest.fixture
async def ops(health: Health) -> AsyncIterator[str]:
    """A running OpsServer on a free local port; yields its base URL."""

    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="hello")

    server = OpsServer(health, "127.0.0.1", 0, extra_routes=[("GET", "/hello", hello)])
    await server.start()
    try:
        assert server.bound_port
        yield f"http://127.0.0.1:{server.bound_port}"
    finally:
        await server.stop()


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def get_json(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


def flag(value: bool) -> Callable[[], bool]:
    return lambda: value


async def test_readiness_fails_with_503_naming_the_check_that_failed(
    ops: str, health: Health
) -> None:
    health.add_check("kafka_consumer_assigned", flag(False))
    health.add_check("grpc_serving", flag(True))

    status, body = await get_json(f"{ops}/readyz")

    assert status == 503
    assert body["ready"] is False
    assert body["checks"] == {"kafka_consumer_assigned": False, "grpc_serving": True}


async def test_ready_when_every_check_passes(ops: str, health: Health) -> None:
    health.add_check("kafka_consumer_assigned", flag(True))
    health.add_check("grpc_serving", flag(True))

    status, body = await get_json(f"{ops}/readyz")

    assert status == 200
    assert body == {
        "ready": True,
        "checks": {"kafka_consumer_assigned": True, "grpc_serving": True},
        "shutting_down": False,
    }


async def test_readiness_is_evaluated_on_every_probe(ops: str, health: Health) -> None:
    state = {"assigned": False}
    health.add_check("kafka_consumer_assigned", lambda: state["assigned"])
    before, _ = await get_json(f"{ops}/readyz")

    state["assigned"] = True
    after, _ = await get_json(f"{ops}/readyz")

    assert (before, after) == (503, 200)


async def test_a_shutting_down_service_is_not_ready_even_if_its_checks_pass(
    ops: str, health: Health
) -> None:
    health.add_check("grpc_serving", flag(True))
    health.shutting_down = True

    status, body = await get_json(f"{ops}/readyz")

    assert status == 503
    assert body["shutting_down"] is True


async def test_liveness_does_not_depend_on_readiness(ops: str, health: Health) -> None:
    health.add_check("kafka_consumer_assigned", flag(False))

    status, body = await get_json(f"{ops}/healthz")

    assert (status, body) == (200, {"status": "alive"})


async def test_metrics_are_prometheus_text_with_kintsugi_metrics(ops: str) -> None:
    metrics.COMPLAINTS_SUBMITTED.labels("email", "accepted").inc()

    status, content_type, text = await get(f"{ops}/metrics")

    assert status == 200
    assert content_type.startswith("text/plain")
    assert "# TYPE kintsugi_complaints_submitted_total counter" in text
    assert 'kintsugi_complaints_submitted_total{channel="email",outcome="accepted"}' in text


async def test_a_service_can_add_its_own_routes(ops: str) -> None:
    status, _, text = await get(f"{ops}/hello")

    assert (status, text) == (200, "hello")


def test_health_with_no_checks_is_ready() -> None:
    assert Health().ready() is True
