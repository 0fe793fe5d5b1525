"""A real Prometheus scrapes the four real services and loads Kintsugi's alert rules."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_pipeline import complaint, journeys
from tests.unit.deploy.monitoring_files import expressions
from tools.devstack import prometheus
from tools.devstack.processes import free_port

pytestmark = pytest.mark.skipif(
    not prometheus.available(), reason="Debian's prometheus package is not installed"
)


async def test_prometheus_scrapes_every_service_and_sees_complaints_flow(
    stack: Stack, unique: str, tmp_path, began: float
) -> None:
    server = prometheus.start_prometheus(stack.config.ops_ports, free_port(), tmp_path)
    try:
        await asyncio.to_thread(server.wait_ready)
        response = await stack.intake.SubmitComplaint(
            complaint(unique, f"prom-{unique}@example.com"), timeout=10
        )
        await journeys(stack, {response.complaint_id}, since=began)

        def scraped() -> tuple[dict[str, str], float]:
            up = {r["metric"]["job"]: r["value"][1] for r in server.query("up")}
            sent = server.query('sum(kintsugi_notifications_total{outcome="sent"})')
            return up, float(sent[0]["value"][1]) if sent else 0.0

        deadline = time.monotonic() + 30
        up, sent = await asyncio.to_thread(scraped)
        while time.monotonic() < deadline and (len(up) < 4 or sent < 1):
            await asyncio.sleep(0.5)
            up, sent = await asyncio.to_thread(scraped)

        assert up == {f"kintsugi-{name}": "1" for name in stack.config.ops_ports}
        assert sent >= 1
        groups = await asyncio.to_thread(server.rule_groups)
        assert {"kintsugi.availability", "kintsugi.complaints"} <= set(groups)
        # Every dashboard and alert query is valid PromQL to a real Prometheus.
        for expr in expressions():
            await asyncio.to_thread(server.query, expr)
    finally:
        await asyncio.to_thread(server.stop)
