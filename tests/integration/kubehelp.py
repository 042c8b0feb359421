"""Helpers shared by the kube/runtime integration tests: clients on the real control plane, polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

import httpx2

from openbao_operator import kube
from tests.peers.controlplane import ControlPlane

T = TypeVar("T")


def admin(control_plane: ControlPlane, counter: kube.RequestCounter | None = None, **kw: Any) -> kube.KubeClient:
    """A KubeClient as cluster admin; every request is counted by ``counter`` when given."""
    wrap = counter.wrap if counter is not None else None
    return kube.connect(control_plane.admin_kubeconfig, wrap_transport=wrap, **kw)


KubeClients: TypeAlias = Callable[..., kube.KubeClient]
"""The ``kube_clients`` fixture: ``kube_clients(counter=None, **connect_kw)`` is :func:`admin` on the test's
control plane, and every client it made is closed after the test."""


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, what: str, within: float = 30.0, interval: float = 0.1
) -> T:
    """Await ``probe`` until it returns a truthy value; bounded in time."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {within:.0f}s waiting for {what} (last: {last!r})")


def configmap(namespace: str, name: str, data: dict[str, str], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, **meta},
        "data": data,
    }


class GoneOnce(httpx2.AsyncBaseTransport):
    """A fault proxy in front of the real API server: answers the next WATCH, once, with 410 Expired.

    Why a fault proxy: the real server's watch cache replays history for old versions instead of answering
    410 until its window overflows, which no test can arrange on demand. The fault is the exact wire form
    of the server's own answer (HTTP 200, one ERROR event carrying a 410 Status); everything else,
    including the relist that follows, goes to the real server.
    """

    ERROR_LINE = (
        b'{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure",'
        b'"message":"too old resource version","reason":"Expired","code":410}}\n'
    )

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.armed = False
        self.fired = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.armed and request.url.params.get("watch") == "true":
            self.armed = False
            self.fired += 1
            return httpx2.Response(200, content=self.ERROR_LINE, headers={"Content-Type": "application/json"})
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
