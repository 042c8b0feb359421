"""The HTTP transport under the API client, and the seam tests use to watch or disturb it.

Why: httpx2 ignores ``verify`` (CA and client certificate) once a custom transport is given, so wrapping the
transport (to count requests, or to inject a fault in front of the real API server) needs a real transport
built here with the kubeconfig's TLS settings. Nothing here changes what is sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import httpx2
from lightkube.config.client_adapter import verify_cluster
from lightkube.config.kubeconfig import SingleConfig

TransportWrapper = Callable[[httpx2.AsyncBaseTransport], httpx2.AsyncBaseTransport]
"""Given the real transport, return the one the client should use (e.g. a counting wrapper around it)."""

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def tls_transport(config: SingleConfig, *, trust_env: bool = True) -> httpx2.AsyncHTTPTransport:
    """A pooled HTTPS transport verifying the cluster CA and presenting the user's client certificate."""
    assert config.user is not None, "a kubeconfig context always has a user"
    ssl_context = verify_cluster(config.cluster, config.user, config.abs_file, trust_env=trust_env)
    return httpx2.AsyncHTTPTransport(verify=ssl_context)


class ObservedTransport(httpx2.AsyncBaseTransport):
    """Calls ``observer(request)`` before passing each request to ``inner``; the observer may raise to fail it."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, observer: Callable[[httpx2.Request], None]) -> None:
        self.inner = inner
        self.observer = observer

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.observer(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class RequestCounter:
    """Counts requests by method; ``writes`` is what the zero-writes-at-steady-state invariant is about."""

    def __init__(self) -> None:
        self.by_method: Counter[str] = Counter()
        self.log: list[tuple[str, str]] = []
        """(method, path?query) of every request, in order."""

    def __call__(self, request: httpx2.Request) -> None:
        self.by_method[request.method] += 1
        query = request.url.query.decode()
        self.log.append((request.method, f"{request.url.path}?{query}" if query else request.url.path))

    @property
    def writes(self) -> int:
        return sum(n for m, n in self.by_method.items() if m in WRITE_METHODS)

    @property
    def total(self) -> int:
        return sum(self.by_method.values())

    def reset(self) -> None:
        self.by_method.clear()
        self.log.clear()

    def wrap(self, inner: httpx2.AsyncBaseTransport) -> httpx2.AsyncBaseTransport:
        """A :data:`TransportWrapper` counting every request through ``inner``."""
        return ObservedTransport(inner, self)
