"""The API client's network backend: its cheap "did the server close this idle connection?" answer is the
same answer httpcore2's own backend gives, on real loopback sockets, and the client really uses it."""

from __future__ import annotations

import asyncio
import sys

import httpcore2
import httpx2
from httpcore2._backends.anyio import AnyIOBackend
from lightkube.config.kubeconfig import KubeConfig

from openbao_operator.kube.transport import (
    LEASE_LIMITS,
    REQUEST_LIMITS,
    WATCH_LIMITS,
    CheapProbeBackend,
    CheapProbeStream,
    SplitTransport,
    tls_transport,
)

KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
    "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
    "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
    "current-context": "x",
}


async def _readable_after(stream: httpcore2.AsyncNetworkStream, *, within: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if stream.get_extra_info("is_readable"):
            return True
        await asyncio.sleep(0.01)
    return False


async def test_an_idle_connection_reads_as_closed_exactly_when_the_server_closed_it() -> None:
    closers: list[asyncio.StreamWriter] = []
    accepted = asyncio.Event()

    def on_connect(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        closers.append(writer)
        if len(closers) == 2:
            accepted.set()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        ours = await CheapProbeBackend().connect_tcp("127.0.0.1", port, timeout=5)
        theirs = await AnyIOBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await asyncio.wait_for(accepted.wait(), 5)
        assert isinstance(ours, CheapProbeStream)
        assert ours.get_extra_info("is_readable") is False
        assert theirs.get_extra_info("is_readable") is False
        assert ours.get_extra_info("socket") is not None
        assert ours.get_extra_info("server_addr") == ("127.0.0.1", port)
        for writer in closers:
            writer.close()
        assert await _readable_after(ours)
        assert await _readable_after(theirs)
        await ours.aclose()
        await theirs.aclose()
    finally:
        server.close()
        await server.wait_closed()


def test_the_api_client_pools_use_the_cheap_backend_and_their_limits() -> None:
    config = KubeConfig.from_dict(KUBECONFIG).get()
    assert config is not None
    transport = tls_transport(config)
    parts = ((transport.requests, REQUEST_LIMITS), (transport.watches, WATCH_LIMITS), (transport.leases, LEASE_LIMITS))
    for part, limits in parts:
        assert isinstance(part, httpx2.AsyncHTTPTransport)
        pool = part._pool
        assert isinstance(pool, httpcore2.AsyncConnectionPool)
        assert isinstance(pool._network_backend, CheapProbeBackend)
        assert pool._ssl_context is not None
        assert pool._max_connections == (limits.max_connections or sys.maxsize)
        assert pool._max_keepalive_connections == limits.max_keepalive_connections
    assert REQUEST_LIMITS.max_connections == 32
    assert WATCH_LIMITS.max_connections is None


class _Named(httpx2.AsyncBaseTransport):
    def __init__(self, name: str, seen: list[str]) -> None:
        self.name, self.seen = name, seen

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append(self.name)
        return httpx2.Response(200)


async def test_watches_leases_and_other_requests_go_through_their_own_pools() -> None:
    seen: list[str] = []
    split = SplitTransport(
        requests=_Named("requests", seen), watches=_Named("watches", seen), leases=_Named("leases", seen)
    )
    urls = [
        "https://api/api/v1/namespaces/a/pods?watch=true&resourceVersion=5",
        "https://api/api/v1/namespaces/a/pods?limit=500",
        "https://api/apis/coordination.k8s.io/v1/namespaces/op/leases/openbao-operator",
        "https://api/apis/apps/v1/namespaces/a/statefulsets/x?fieldManager=o&force=true",
    ]
    for url in urls:
        await split.handle_async_request(httpx2.Request("GET", url))
    assert seen == ["watches", "requests", "leases", "requests"]
