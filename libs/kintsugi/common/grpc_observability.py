"""A grpc.aio server interceptor: every unary call is timed by method and status code and
counted while in flight, and its log lines carry the method name."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import structlog

from kintsugi.common import metrics

# grpc's own type stubs do not describe aio handlers; keep the edges loosely typed.
_Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[Any]]


class ObservabilityInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    async def intercept_service(
        self, continuation: _Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler  # streaming and unknown methods pass through untouched
        method = str(handler_call_details.method).rsplit("/", 1)[-1]
        behaviour = handler.unary_unary
        in_flight = metrics.GRPC_IN_FLIGHT.labels(method)

        async def observed(request: Any, context: Any) -> Any:
            started = time.perf_counter()
            with in_flight.track_inprogress(), structlog.contextvars.bound_contextvars(rpc=method):
                try:
                    return await behaviour(request, context)
                finally:
                    code = context.code() or grpc.StatusCode.OK
                    if isinstance(code, int):  # grpc.aio may report the raw number
                        code = next(c for c in grpc.StatusCode if c.value[0] == code)
                    metrics.GRPC_REQUEST_SECONDS.labels(method, code.name).observe(
                        time.perf_counter() - started
                    )

        return grpc.unary_unary_rpc_method_handler(
            observed,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
