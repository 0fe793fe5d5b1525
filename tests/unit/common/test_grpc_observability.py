"""The gRPC interceptor's saturation and latency figures, on a real grpc.aio server."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from prometheus_client import REGISTRY

from kintsugi.common.grpc_observability import ObservabilityInterceptor

METHOD = "/kintsugi.test.v1.Probe/Hold"


def _in_flight() -> float:
    return REGISTRY.get_sample_value("kintsugi_grpc_in_flight_requests", {"method": "Hold"}) or 0


async def test_a_call_counts_as_in_flight_until_it_answers() -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    async def hold(request: bytes, context: Any) -> bytes:
        entered.set()
        await release.wait()
        return request

    handler = grpc.method_handlers_generic_handler(
        "kintsugi.test.v1.Probe", {"Hold": grpc.unary_unary_rpc_method_handler(hold)}
    )
    server = grpc.aio.server(interceptors=[ObservabilityInterceptor()])
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            before = _in_flight()
            call = asyncio.ensure_future(channel.unary_unary(METHOD)(b"ping", timeout=10))
            await asyncio.wait_for(entered.wait(), 10)
            assert _in_flight() == before + 1
            release.set()
            assert await call == b"ping"
            assert _in_flight() == before
    finally:
        await server.stop(None)
