"""One small HTTP server for the kubelet and Prometheus: /healthz, /readyz and /metrics.

Why these meanings: /healthz fails only when the process is wedged (an informer task died), so the kubelet
restarts it; /readyz fails until the caches have synced. Readiness deliberately ignores leadership: a
standby replica is healthy and ready, it just is not leading (there are no webhooks to route to it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler

Check = Callable[[], str | None]
"""A named probe: returns None when fine, else a short reason (shown in the response body)."""


def _probe(checks: Iterable[tuple[str, Check]]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(_request: web.Request) -> web.StreamResponse:
        failures = []
        for name, check in checks:
            try:
                reason = check()
            except Exception as exc:  # a probe that crashes is a failed probe, not a 500 page
                reason = f"probe error: {exc!r}"
            if reason:
                failures.append(f"[-] {name}: {reason}")
        if failures:
            return web.Response(status=503, text="\n".join(failures) + "\n")
        return web.Response(text="ok\n")

    return handler


class HealthServer:
    """Serves the probes and metrics of one process; add checks before :meth:`start`."""

    def __init__(self, *, registry: CollectorRegistry, host: str = "0.0.0.0", port: int = 8080) -> None:  # noqa: S104
        self.registry = registry
        self.host = host
        self.port = port
        self.liveness: list[tuple[str, Check]] = []
        self.readiness: list[tuple[str, Check]] = []
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", _probe(self.liveness))
        app.router.add_get("/readyz", _probe(self.readiness))
        app.router.add_get("/metrics", make_aiohttp_handler(self.registry))
        return app

    async def start(self) -> int:
        """Start listening; returns the bound port (useful with ``port=0`` in tests)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
