"""Helpers shared by the kube/runtime integration tests: clients on the real control plane, polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from openbao_operator import kube
from tests.peers.controlplane import ControlPlane

T = TypeVar("T")


def admin(control_plane: ControlPlane, counter: kube.RequestCounter | None = None, **kw: Any) -> kube.KubeClient:
    """A KubeClient as cluster admin; every request is counted by ``counter`` when given."""
    wrap = counter.wrap if counter is not None else None
    return kube.connect(control_plane.admin_kubeconfig, wrap_transport=wrap, **kw)


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
