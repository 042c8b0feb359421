"""The answer of ``sys/init`` is never lost to an API server that refuses the root-token Secret for a while.

Real peers: a real `bao` server (raft, TLS, static seal) is initialized by ``bootstrap`` and the Secret goes to
the real kube-apiserver; a transport in front of it answers Secret writes with 403 (the operator missing the
RBAC, or an admission webhook refusing them), which is the fault injected:

- the placeholder cannot be created: OpenBao is not initialized at all (nothing is handed out that could be lost);
- the fill after ``sys/init`` is refused: the answer is held in memory and written by a later pass;
- OpenBao found initialized while the Secret is still a placeholder (a crash between the two): ``RootTokenLost``;
- ``rootTokenPolicy: Revoke``: the stored token stops working in OpenBao and leaves the Secret.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from openbao_operator import kube
from openbao_operator.api import parse_cluster
from openbao_operator.baoapi import BaoClient, Target
from openbao_operator.controller import roottoken
from openbao_operator.controller.bootstrap import (
    STORE_ATTEMPTS,
    UnstoredInitResults,
    bootstrap,
    revoke_root_token,
    root_token_secret_name,
)
from openbao_operator.controller.kinds import SECRET
from openbao_operator.controller.sources import Reader
from tests.integration.kubehelp import KubeClients
from tests.peers.bao import BaoServer
from tests.peers.controlplane import ControlPlane

pytestmark = pytest.mark.integration


class RefuseSecretWrites(httpx2.AsyncBaseTransport):
    """Answers the next ``failures`` requests of ``method`` on Secrets with 403; everything else reaches the
    real API server."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, *, failures: int, method: str) -> None:
        self.inner = inner
        self.failures = failures
        self.method = method
        self.refused = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == self.method and "/secrets" in request.url.path and self.failures > 0:
            self.failures -= 1
            self.refused += 1
            status = {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "code": 403,
                "reason": "Forbidden",
                "message": f'secrets is forbidden: injected by the test (no "{self.method.lower()}" on secrets)',
            }
            return httpx2.Response(403, json=status, request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _cluster(namespace: str, **spec: Any) -> Any:
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
                **spec,
            },
        }
    )


def _pod0(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "boot-0", "namespace": namespace},
        "status": {
            "phase": "Running",
            "podIP": "127.0.0.1",
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def _connect_to(server: BaoServer) -> Callable[[Target], BaoClient]:
    """Every pod target is the local server (its certificate names 127.0.0.1)."""
    ca_pem = server.ca_pem()
    return lambda _target: BaoClient(Target(base_url=server.addr, ca_pem=ca_pem))


def _token_works(server: BaoServer, token: str) -> bool:
    context = ssl.create_default_context(cafile=str(server.cacert))
    url = f"{server.addr}/v1/auth/token/lookup-self"
    request = urllib.request.Request(url, headers={"X-Vault-Token": token})  # noqa: S310 - https to the peer
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310
            return bool(json.load(response)["data"]["policies"] == ["root"])
    except urllib.error.HTTPError as exc:
        if exc.code == 403:
            return False
        raise


def _initialized(server: BaoServer) -> bool:
    context = ssl.create_default_context(cafile=str(server.cacert))
    with urllib.request.urlopen(f"{server.addr}/v1/sys/init", context=context, timeout=10) as response:  # noqa: S310
        return bool(json.load(response)["initialized"])


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.mark.parametrize("failures", [STORE_ATTEMPTS - 1, STORE_ATTEMPTS + 1])
async def test_the_init_answer_survives_refused_secret_writes(
    control_plane: ControlPlane,
    kube_clients: KubeClients,
    namespace: str,
    bao_factory: Callable[..., BaoServer],
    failures: int,
) -> None:
    server = bao_factory(name=f"boot-{failures}").start()
    faults: list[RefuseSecretWrites] = []

    def wrap(inner: httpx2.AsyncBaseTransport) -> httpx2.AsyncBaseTransport:
        faults.append(RefuseSecretWrites(inner, failures=failures, method="PATCH"))  # the fill after sys/init
        return faults[0]

    client = kube.connect(control_plane.admin_kubeconfig, wrap_transport=wrap)
    checker = kube_clients()
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
            placeholder = await checker.get(SECRET, secret_name, namespace=namespace)
            assert not placeholder.get("data"), "only the placeholder exists, without data"
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
        assert secret["metadata"]["annotations"]["openbao.org/root-token-state"] == "stored"
        for outcome in passes:
            said = " ".join(
                [outcome.problem.message if outcome.problem else "", outcome.event[1] if outcome.event else ""]
            )
            assert token not in said
            assert base64.b64decode(secret["data"]["recovery-key-0"]).decode() not in said
    finally:
        await client.close()


async def _absent(client: kube.KubeClient, name: str, namespace: str) -> bool:
    try:
        await client.get(SECRET, name, namespace=namespace)
    except kube.NotFound:
        return True
    return False


def _common(
    client: kube.KubeClient, server: BaoServer, namespace: str, unstored: UnstoredInitResults
) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "owner_uid": None,
        "ca_pem": None,
        "kube": client,
        "reader": Reader(client, caches={}),
        "connect": _connect_to(server),
        "unstored": unstored,
        "sleep": _no_sleep,
    }


async def test_no_initialization_while_the_secret_cannot_be_created(
    control_plane: ControlPlane, namespace: str, bao_factory: Callable[..., BaoServer]
) -> None:
    server = bao_factory(name="boot-refused").start()
    faults: list[RefuseSecretWrites] = []

    def wrap(inner: httpx2.AsyncBaseTransport) -> httpx2.AsyncBaseTransport:
        faults.append(RefuseSecretWrites(inner, failures=1, method="POST"))
        return faults[0]

    client = kube.connect(control_plane.admin_kubeconfig, wrap_transport=wrap)
    unstored = UnstoredInitResults()
    try:
        cluster = _cluster(namespace)
        first = await bootstrap(
            cluster, [_pod0(namespace)], is_initialized=False, **_common(client, server, namespace, unstored)
        )
        assert not first.initialized
        assert first.problem is not None
        assert first.problem.reason == "RootTokenSecretNotWritable"
        assert not _initialized(server), "OpenBao must not hand out a token the operator could not store"
        assert unstored.held(namespace, "boot") is None
        # once the Secret can be written, the next pass initializes and stores
        second = await bootstrap(
            cluster, [_pod0(namespace)], is_initialized=False, **_common(client, server, namespace, unstored)
        )
        assert second.initialized
        assert second.problem is None
        assert _initialized(server)
        secret = await client.get(SECRET, root_token_secret_name(cluster), namespace=namespace)
        assert _token_works(server, base64.b64decode(secret["data"]["token"]).decode())
    finally:
        await client.close()


async def test_an_answer_lost_between_init_and_fill_is_reported(
    kube_clients: KubeClients, namespace: str, bao_factory: Callable[..., BaoServer]
) -> None:
    """The state a crash between ``PUT sys/init`` and the fill leaves: a placeholder, OpenBao initialized by
    an answer nobody kept. (The SIGKILL of a real operator process in that window: test_roottoken_sigkill.)"""
    server = bao_factory(name="boot-lost").start()
    client = kube_clients()
    unstored = UnstoredInitResults()
    cluster = _cluster(namespace)
    await client.create(roottoken.placeholder(cluster, namespace=namespace, owner_uid=None))
    lost_answer = await BaoClient(Target(base_url=server.addr, ca_pem=server.ca_pem())).initialize(
        recovery_shares=1, recovery_threshold=1
    )
    outcome = await bootstrap(
        cluster, [_pod0(namespace)], is_initialized=False, **_common(client, server, namespace, unstored)
    )
    assert outcome.initialized
    assert outcome.lost
    assert outcome.problem is not None
    assert outcome.problem.reason == "RootTokenLost"
    assert lost_answer.root_token.reveal() not in outcome.problem.message
    secret = await client.get(SECRET, root_token_secret_name(cluster), namespace=namespace)
    assert secret["metadata"]["annotations"]["openbao.org/root-token-state"] == "lost"
    assert not secret.get("data")
    # reported once, when initialization is first seen; a recorded cluster is not checked again
    later = await bootstrap(
        cluster,
        [_pod0(namespace)],
        is_initialized=True,
        recorded=True,
        **_common(client, server, namespace, unstored),
    )
    assert later.problem is None


async def test_revoke_policy_revokes_the_stored_root_token(
    kube_clients: KubeClients, namespace: str, bao_factory: Callable[..., BaoServer]
) -> None:
    server = bao_factory(name="boot-revoke").start()
    client = kube_clients()
    unstored = UnstoredInitResults()
    cluster = _cluster(namespace, rootTokenPolicy="Revoke")
    common = _common(client, server, namespace, unstored)
    first = await bootstrap(cluster, [_pod0(namespace)], is_initialized=False, **common)
    assert first.initialized
    stored = await client.get(SECRET, root_token_secret_name(cluster), namespace=namespace)
    token = base64.b64decode(stored["data"]["token"]).decode()
    assert _token_works(server, token)
    common.pop("owner_uid")
    common.pop("unstored")
    common.pop("sleep")
    revoked = await revoke_root_token(cluster, [_pod0(namespace)], **common)
    assert revoked.event is not None
    assert revoked.event[0] == "RootTokenRevoked"
    assert token not in revoked.event[1]
    assert not _token_works(server, token), "the revoked token must no longer work in OpenBao"
    secret = await client.get(SECRET, root_token_secret_name(cluster), namespace=namespace)
    assert set(secret["data"]) == {"recovery-key-0"}
    assert secret["metadata"]["annotations"]["openbao.org/root-token-state"] == "revoked"
    again = await revoke_root_token(cluster, [_pod0(namespace)], **common)
    assert again.event is None
    assert again.problem is None
