"""One small HTTP server for the kubelet and Prometheus: /healthz, /readyz and /metrics.

Why these meanings: /healthz fails only when the process is wedged (an informer task died), so the kubelet
restarts it; /readyz fails until the caches have synced. Readiness deliberately ignores leadership: a
standby replica is healthy and ready, it just is not leading (there are no webhooks to route to it).

Why on asyncio's own streams rather than a web framework: three GET routes with tiny answers need no more
than reading a request line and its headers, and importing a framework (aiohttp: about a quarter of a
second) delayed the process start → /readyz (issue 20). Each connection answers one request and closes
(``Connection: close``); a request line or header block larger than the stream limit, or slower than
:data:`READ_TIMEOUT`, closes the connection without an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

Check = Callable[[], str | None]
"""A named probe: returns None when fine, else a short reason (shown in the response body)."""

READ_TIMEOUT = 10.0
"""Seconds a client may take to send its request line and headers."""
_LIMIT = 16 * 1024
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def probe(checks: Iterable[tuple[str, Check]]) -> tuple[int, str]:
    """The status and body of a probe: 200 ``ok`` or 503 naming each failed check."""
    failures = []
    for name, check in checks:
        try:
            reason = check()
        except Exception as exc:  # a probe that crashes is a failed probe, not a 500 page
            reason = f"probe error: {exc!r}"
        if reason:
            failures.append(f"[-] {name}: {reason}")
    if failures:
        return 503, "\n".join(failures) + "\n"
    return 200, "ok\n"


class HealthServer:
    """Serves the probes and metrics of one process; add checks before :meth:`start`."""

    def __init__(self, *, registry: CollectorRegistry, host: str = "0.0.0.0", port: int = 8080) -> None:  # noqa: S104
        self.registry = registry
        self.host = host
        self.port = port
        self.liveness: list[tuple[str, Check]] = []
        self.readiness: list[tuple[str, Check]] = []
        self._server: asyncio.Server | None = None

    def answer(self, method: str, path: str) -> tuple[int, str, bytes]:
        """Status, content type and body for one request."""
        route = path.split("?", 1)[0]
        if route not in ("/healthz", "/readyz", "/metrics"):
            return 404, "text/plain; charset=utf-8", b"404: Not Found"
        if method not in ("GET", "HEAD"):
            return 405, "text/plain; charset=utf-8", b"405: Method Not Allowed"
        if route == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self.registry)
        status, text = probe(self.liveness if route == "/healthz" else self.readiness)
        return status, "text/plain; charset=utf-8", text.encode()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            if len(parts) != 3:
                return
            method, path = parts[0], parts[1]
            status, content_type, body = self.answer(method, path)
            header = (
                f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(header.encode("latin-1") + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def start(self) -> int:
        """Start listening; returns the bound port (useful with ``port=0`` in tests)."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=_LIMIT)
        sockets = self._server.sockets
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
