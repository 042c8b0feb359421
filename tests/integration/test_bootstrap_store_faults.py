"""The answer of ``sys/init`` is never lost to an API server that refuses the root-token Secret for a while.

Real peers: a real `bao` server (raft, TLS, static seal) is initialized by ``bootstrap`` and the Secret goes to
the real kube-apiserver; a transport in front of it answers the first POSTs of Secrets with 403 (the operator
missing the RBAC to create Secrets, or an admission webhook refusing them), which is the fault injected.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.request
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from openbao_operator import kube
from openbao_operator.api import parse_cluster
from openbao_operator.baoapi import BaoClient, Target
from openbao_operator.controller.bootstrap import (
    STORE_ATTEMPTS,
    UnstoredInitResults,
    bootstrap,
    root_token_secret_name,
)
from openbao_operator.controller.kinds import SECRET
from openbao_operator.controller.sources import Reader
from tests.integration.kubehelp import admin
from tests.peers.bao import BaoServer
from tests.peers.controlplane import ControlPlane

pytestmark = pytest.mark.integration


class RefuseSecretPosts(httpx2.AsyncBaseTransport):
    """Answers the next ``failures`` POSTs of Secrets with 403; everything else reaches the real API server."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, *, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.refused = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST" and request.url.path.endswith("/secrets") and self.failures > 0:
            self.failures -= 1
            self.refused += 1
            status = {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "code": 403,
                "reason": "Forbidden",
                "message": 'secrets is forbidden: injected by the test (no "create" on secrets)',
            }
            return httpx2.Response(403, json=status, request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _cluster(namespace: str) -> Any:
    return parse_cluster(
        {
            "apiVersion": "openbao.org/v1alpha1",
            "kind": "OpenBaoCluster",
            "metadata": {"name": "boot", "namespace": namespace},
            "spec": {
                "version": "2.7.2",
                "replicas": 1,
                "tls": {"enabled": True},
                "storage": {"size": "1Gi"},
            },
        }
    )


def _pod0(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "boot-0", "namespace": namespace},
        "status": {"phase": "Running", "podIP": "127.0.0.1"},
    }


def _connect_to(server: BaoServer) -> Callable[[Target], BaoClient]:
    """Every pod target is the local server (its certificate names 127.0.0.1)."""
    ca_pem = server.cacert.read_text()
    return lambda _target: BaoClient(Target(base_url=server.addr, ca_pem=ca_pem))


def _token_works(server: BaoServer, token: str) -> bool:
    context = ssl.create_default_context(cafile=str(server.cacert))
    url = f"{server.addr}/v1/auth/token/lookup-self"
    request = urllib.request.Request(url, headers={"X-Vault-Token": token})  # noqa: S310 - https to the peer
    with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310
        return bool(json.load(response)["data"]["policies"] == ["root"])


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.mark.parametrize("failures", [STORE_ATTEMPTS - 1, STORE_ATTEMPTS + 1])
async def test_the_init_answer_survives_refused_secret_writes(
    control_plane: ControlPlane, namespace: str, bao_factory: Callable[..., BaoServer], failures: int
) -> None:
    server = bao_factory(name=f"boot-{failures}").start()
    faults: list[RefuseSecretPosts] = []

    def wrap(inner: httpx2.AsyncBaseTransport) -> httpx2.AsyncBaseTransport:
        faults.append(RefuseSecretPosts(inner, failures=failures))
        return faults[0]

    client = kube.connect(control_plane.admin_kubeconfig, wrap_transport=wrap)
    checker = admin(control_plane)
    reader = Reader(client, caches={})
    unstored = UnstoredInitResults()
    cluster = _cluster(namespace)
    secret_name = root_token_secret_name(cluster)
    try:
        common: dict[str, Any] = {
            "namespace": namespace,
            "owner_uid": None,
            "ca_pem": None,
            "kube": client,
            "reader": reader,
            "connect": _connect_to(server),
            "unstored": unstored,
            "sleep": _no_sleep,
        }
        first = await bootstrap(cluster, [_pod0(namespace)], is_initialized=False, **common)
        assert first.initialized, "the node was initialized whatever happened to the Secret"
        passes = [first]
        if failures < STORE_ATTEMPTS:
            assert first.problem is None
            assert first.event is not None
            assert first.event[0] == "Initialized"
            assert faults[0].refused == failures
        else:
            assert first.problem is not None
            assert first.problem.reason == "RootTokenNotStored"
            assert await _absent(checker, secret_name, namespace)
            assert unstored.held(namespace, "boot") is not None
            assert "UnstoredInitResults([(" in repr(unstored)
            assert "token" not in repr(unstored)
            # Later passes (the cluster is initialized now) write the held answer first; bounded by the faults left.
            for _ in range(failures - STORE_ATTEMPTS + 1):
                passes.append(await bootstrap(cluster, [_pod0(namespace)], is_initialized=True, **common))
            assert [p.problem.reason if p.problem else None for p in passes[1:]] == [
                *(["RootTokenNotStored"] * (failures - STORE_ATTEMPTS)),
                None,
            ]
            assert passes[-1].event is not None
            assert passes[-1].event[0] == "RootTokenStored"
            assert unstored.held(namespace, "boot") is None
        secret = await checker.get(SECRET, secret_name, namespace=namespace)
        token = base64.b64decode(secret["data"]["token"]).decode()
        assert _token_works(server, token)
        assert set(secret["data"]) == {"token", "recovery-key-0"}
        for outcome in passes:
            said = " ".join(
                [outcome.problem.message if outcome.problem else "", outcome.event[1] if outcome.event else ""]
            )
            assert token not in said
            assert base64.b64decode(secret["data"]["recovery-key-0"]).decode() not in said
    finally:
        await client.close()
        await checker.close()


async def _absent(client: kube.KubeClient, name: str, namespace: str) -> bool:
    try:
        await client.get(SECRET, name, namespace=namespace)
    except kube.NotFound:
        return True
    return False
