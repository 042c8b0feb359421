"""The HTTP transport under the API client, and the seam tests use to watch or disturb it.

Why: httpx2 ignores ``verify`` (CA and client certificate) once a custom transport is given, so wrapping the
transport (to count requests, or to inject a fault in front of the real API server) needs a real transport
built here with the kubeconfig's TLS settings. Nothing here changes what is sent.
"""

from __future__ import annotations

import ssl
from collections import Counter
from collections.abc import Callable
from typing import Any

import anyio.abc
import httpcore2
import httpx2
from httpcore2._backends.anyio import AnyIOBackend, AnyIOStream
from httpcore2._utils import is_socket_readable
from lightkube.config.client_adapter import verify_cluster
from lightkube.config.kubeconfig import SingleConfig

TransportWrapper = Callable[[httpx2.AsyncBaseTransport], httpx2.AsyncBaseTransport]
"""Given the real transport, return the one the client should use (e.g. a counting wrapper around it)."""

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


REQUEST_LIMITS = httpx2.Limits(max_connections=32, max_keepalive_connections=32, keepalive_expiry=60.0)
"""Requests other than watches: at most 32 at once on the wire (the rest wait for a connection, the pool's
timeout being the client's). More brings no speed from one API server and costs CPU: before every request the
pool looks at each of its connections, and a burst beyond the keep-alive limit closed connections that the
next burst opened again with a new TLS handshake (288 of them while 100 clusters converged, 48 with this)."""

WATCH_LIMITS = httpx2.Limits(max_connections=None, max_keepalive_connections=16, keepalive_expiry=5.0)
"""Watches: one streaming response, so one connection, each for minutes; as many as there are informers
(eleven per onboarded namespace), so no limit."""

LEASE_LIMITS = httpx2.Limits(max_connections=2, max_keepalive_connections=2, keepalive_expiry=60.0)
"""Leader election's Lease reads and renewals: never queued behind a burst of reconcile requests, which
could make a renewal miss its deadline and the process give up leadership."""


def tls_transport(config: SingleConfig, *, trust_env: bool = True) -> SplitTransport:
    """HTTPS to the API server, verifying the cluster CA and presenting the user's client certificate: watches
    and Lease requests on pools of their own, every other request on a bounded one (:class:`SplitTransport`)."""
    assert config.user is not None, "a kubeconfig context always has a user"
    ssl_context = verify_cluster(config.cluster, config.user, config.abs_file, trust_env=trust_env)
    return SplitTransport(
        requests=_pooled(ssl_context, REQUEST_LIMITS),
        watches=_pooled(ssl_context, WATCH_LIMITS),
        leases=_pooled(ssl_context, LEASE_LIMITS),
    )


def _pooled(ssl_context: ssl.SSLContext, limits: httpx2.Limits) -> httpx2.AsyncHTTPTransport:
    transport = httpx2.AsyncHTTPTransport(verify=ssl_context, limits=limits)
    # NB: httpx2 takes no network backend; the pool it built reads its backend only when it opens a connection,
    # so setting it here changes nothing else of the pool. tests/unit/kube/test_transport.py fails if that
    # stops working.
    pool = transport._pool
    assert isinstance(pool, httpcore2.AsyncConnectionPool)
    pool._network_backend = CheapProbeBackend()
    return transport


class SplitTransport(httpx2.AsyncBaseTransport):
    """Watches (``?watch=true``) through one pool, Lease requests through another, everything else through a
    third.

    Why: a watch holds its connection for as long as it streams. In one pool with a connection limit, the
    informers of ten onboarded namespaces (eleven kinds each) took every connection, and every other request,
    reads and writes of every reconcile included, waited for one until it failed with a pool timeout: the
    operator stopped working. Without a limit, a burst of requests would open a connection each. The Lease
    renewals of leader election have their own two connections so that such a burst never delays them."""

    def __init__(
        self,
        *,
        requests: httpx2.AsyncBaseTransport,
        watches: httpx2.AsyncBaseTransport,
        leases: httpx2.AsyncBaseTransport,
    ) -> None:
        self.requests = requests
        self.watches = watches
        self.leases = leases

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.params.get("watch") == "true":
            pool = self.watches
        elif request.url.path.startswith(_LEASES):
            pool = self.leases
        else:
            pool = self.requests
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        try:
            await self.requests.aclose()
        finally:
            try:
                await self.watches.aclose()
            finally:
                await self.leases.aclose()


_LEASES = "/apis/coordination.k8s.io/"


class CheapProbeStream(AnyIOStream):
    """httpcore2's anyio stream, with the raw socket kept.

    Why: before each request (and after each response) the pool asks every idle pooled connection whether
    the server closed it (``get_extra_info("is_readable")``). The anyio stream answers by building its whole
    attribute map, a ``getpeername`` system call included, for every connection every time: about a tenth of
    the operator's CPU while clusters converged (docs/benchmarks.md, issue 20). The socket never changes for
    the life of the connection (TLS wraps the same TCP socket), so it is looked up once. Same answer.
    """

    def __init__(self, stream: anyio.abc.ByteStream, raw_socket: Any) -> None:
        super().__init__(stream)
        self._raw_socket = raw_socket

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return is_socket_readable(self._raw_socket)
        if info == "socket":
            return self._raw_socket
        return super().get_extra_info(info)

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore2's signature
    ) -> CheapProbeStream:
        wrapped = await super().start_tls(ssl_context, server_hostname, timeout)
        assert isinstance(wrapped, AnyIOStream)
        return CheapProbeStream(wrapped._stream, self._raw_socket)


class CheapProbeBackend(AnyIOBackend):
    """httpcore2's anyio backend, making :class:`CheapProbeStream` connections."""

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> CheapProbeStream:
        stream = await super().connect_tcp(*args, **kwargs)
        assert isinstance(stream, AnyIOStream)
        return CheapProbeStream(stream._stream, stream._stream.extra(anyio.abc.SocketAttribute.raw_socket))  # noqa: S610


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
