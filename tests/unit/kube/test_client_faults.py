"""Faults a real API server cannot produce on demand (dropped connections, proxies answering HTML, 503s)
surface as domain errors. httpx2.MockTransport here stands in front of nothing: it only injects the fault.
Everything the API server really does is tested against the real one (tests/integration/test_kube_*).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx2
import pytest

from openbao_operator import kube

KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
    "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
    "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "team"}}],
    "current-context": "x",
}
CM = kube.resource_type("v1", "ConfigMap")


def _client(fault: Callable[[httpx2.Request], httpx2.Response]) -> kube.KubeClient:
    return kube.connect(KUBECONFIG, transport=httpx2.MockTransport(fault))


async def test_connection_refused_is_transient() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    client = _client(refuse)
    with pytest.raises(kube.Transient, match="cannot reach"):
        await client.get(CM, "a", namespace="n")
    await client.close()


async def test_html_from_a_proxy_is_transient() -> None:
    client = _client(lambda _: httpx2.Response(503, content=b"<h1>upstream down</h1>"))
    with pytest.raises(kube.Transient, match="upstream down"):
        await client.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}})
    await client.close()


async def test_watch_error_event_mid_stream_is_gone() -> None:
    lines = (
        b'{"type":"BOOKMARK","object":{"kind":"ConfigMap","metadata":{"resourceVersion":"12"}}}\n'
        b'{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}}\n'
    )
    client = _client(lambda _: httpx2.Response(200, content=lines))
    seen = []

    async def consume() -> None:
        async for event in client.watch(CM, resource_version="1", timeout_seconds=5, namespace="n"):
            seen.append((event.type, event.resource_version))

    with pytest.raises(kube.Gone):
        await consume()
    assert seen == [("BOOKMARK", "12")]
    await client.close()


async def test_requests_are_built_as_the_api_expects() -> None:
    seen: list[httpx2.Request] = []

    def record(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"kind": "ConfigMap", "metadata": {"name": "a"}})

    client = _client(record)
    assert client.default_namespace == "team"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}}
    await client.apply(body, force=False)
    await client.delete(CM, "a", namespace="n", propagation="Orphan", preconditions=kube.Preconditions(uid="u1"))
    apply, delete = seen
    assert apply.method == "PATCH"
    assert apply.url.path == "/api/v1/namespaces/n/configmaps/a"
    assert apply.headers["Content-Type"] == "application/apply-patch+yaml"
    assert dict(apply.url.params) == {"fieldManager": "openbao-operator", "fieldValidation": "Strict"}
    assert delete.method == "DELETE"
    assert b'"propagationPolicy":"Orphan"' in delete.content
    assert b'"preconditions":{"uid":"u1"}' in delete.content
    with pytest.raises(kube.KubeError, match="namespaced"):
        await client.get(CM, "a")
    await client.close()
