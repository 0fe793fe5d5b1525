"""The operations endpoint every service exposes: /metrics, /healthz and /readyz.

Readiness is the conjunction of named checks the service registers (Kafka consumer
assigned, gRPC server serving, ...), so a probe failing says which part is not ready.
Liveness fails only when the process is alive but stuck (``Health.fail``): restarting it
is the cure, and the orchestrator does that.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

ReadinessCheck = Callable[[], bool]
Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


class Health:
    def __init__(self) -> None:
        self._checks: dict[str, ReadinessCheck] = {}
        self.shutting_down = False
        self.failure: str | None = None

    def fail(self, reason: str) -> None:
        """The process cannot recover by itself: /healthz answers 503 with the reason."""
        self.failure = reason

    def add_check(self, name: str, check: ReadinessCheck) -> None:
        self._checks[name] = check

    def report(self) -> dict[str, bool]:
        return {name: bool(check()) for name, check in self._checks.items()}

    def ready(self) -> bool:
        return not self.shutting_down and all(self.report().values())


class HttpServer:
    """Routes served on one host and port (aiohttp); port 0 picks a free one, then
    ``bound_port`` says which."""

    def __init__(self, host: str, port: int, routes: Sequence[Route]) -> None:
        self._host = host
        self._port = port
        self._routes = routes
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    async def start(self) -> None:
        app = web.Application()
        for method, path, handler in self._routes:
            app.router.add_route(method, path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self._port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class OpsServer(HttpServer):
    def __init__(
        self, health: Health, host: str, port: int, extra_routes: Sequence[Route] = ()
    ) -> None:
        self._health = health
        own: list[Route] = [
            ("GET", "/metrics", self._metrics),
            ("GET", "/healthz", self._live),
            ("GET", "/readyz", self._ready),
        ]
        super().__init__(host, port, [*own, *extra_routes])

    async def _metrics(self, _: web.Request) -> web.Response:
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _live(self, _: web.Request) -> web.Response:
        if self._health.failure is not None:
            return web.json_response(
                {"status": "stuck", "reason": self._health.failure}, status=503
            )
        return web.json_response({"status": "alive"})

    async def _ready(self, _: web.Request) -> web.Response:
        checks = self._health.report()
        ready = self._health.ready()
        body = {"ready": ready, "checks": checks, "shutting_down": self._health.shutting_down}
        return web.json_response(body, status=200 if ready else 503)
