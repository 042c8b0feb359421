"""The operator's own identity in OpenBao, end to end: a selfInit.oidc cluster with no root token anywhere.

Real control plane, pods running real `bao` (node agent), the operator in this event loop as its own
ServiceAccount with deploy/ RBAC only:

- a 3-node cluster with ``selfInit: {enabled: true, oidc: {enabled: true}}`` and no requests initialises
  itself (nobody calls sys/init) and becomes Available; there is no ``<name>-root-token`` Secret, and no value
  of any Secret in the namespace is a token OpenBao knows (``auth/token/lookup-self`` answers none of them);
- a config change rolls the pods, standbys first, and the active node is stepped down first with the
  operator's own token (TokenRequest + JWT login): the PodReplaced Event says so, no login failed, and
  leadership changes exactly once;
- a token obtained the same way as the operator (a TokenRequest of the operator's ServiceAccount, as that
  ServiceAccount, then ``auth/jwt-operator/login``) reads the raft configuration and gets 403 everywhere
  outside its policy;
- a scale-down to 1 with the leader leaving steps it down and removes the leaving raft peers with the same
  identity (``SteppedDown``, ``RaftPeersRemoved``; pod-0 is the only voter after);
- no token (neither the operator's OpenBao token nor any JWT) appears in an Event or in the operator's output.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest

from openbao_operator import kube
from openbao_operator.api import parse_cluster
from openbao_operator.baoapi import BaoApiError, BaoClient, Sensitive, Target
from openbao_operator.controller import kinds, podview
from openbao_operator.controller.operator_token import OperatorTokens
from openbao_operator.kube.oidc import TokenRequestError, request_token
from tests.integration.kubehelp import admin, eventually
from tests.integration.operatorhelp import condition, crd, running_operator
from tests.integration.test_rollout_e2e import EVENT, _labels, _pods, wait_available, wait_rolled, watching
from tests.peers.controlplane import ControlPlane
from tests.peers.nodeagent import NodeAgent
from tests.unit.render.config_cases import manifest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200), pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

NAME = "oidc"
AUDIENCE = "openbao-internal"
SELF_INIT = {"enabled": True, "oidc": {"enabled": True}}
STEPPED_DOWN = "after sys/step-down with the operator's own token (JWT login)"


def _doc(namespace: str, log_level: str, *, replicas: int = 3) -> dict[str, Any]:
    return manifest(
        name=NAME,
        namespace=namespace,
        replicas=replicas,
        version="2.7.2",
        selfInit=SELF_INIT,
        configuration={"logLevel": log_level},
    )


async def _ca(client: kube.KubeClient, namespace: str) -> str:
    obj = await client.get(kinds.SECRET, f"{NAME}-tls-server", namespace=namespace)
    return base64.b64decode(obj["data"]["ca.crt"]).decode()


async def _target(client: kube.KubeClient, namespace: str, doc: dict[str, Any], *, active: bool) -> Target:
    pods = await _pods(client, namespace, NAME)
    pod = next(p for p in pods if (_labels(p).get("openbao-active") == "true") == active)
    where = podview.target(parse_cluster(doc), pod, namespace=namespace, ca_pem=await _ca(client, namespace))
    assert where is not None
    return where


async def _status(where: Target, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    bao = BaoClient(where, timeout=30.0)
    try:
        return await bao._request(method, path, what=path, token=Sensitive(token), json=body, ok=tuple(range(600)))
    except BaoApiError as exc:  # pragma: no cover - ok= takes every status
        return exc.status, None


async def _secret_values(client: kube.KubeClient, namespace: str) -> dict[str, str]:
    """Every Secret value of the namespace that could be a token (one line of printable ASCII)."""
    out: dict[str, str] = {}
    secrets = (await client.list(kinds.SECRET, namespace=namespace)).items
    names = sorted(str(s["metadata"]["name"]) for s in secrets)
    assert f"{NAME}-tls-server" in names, names
    assert not [n for n in names if "root-token" in n], names
    for secret in secrets:
        assert not {"token", "root-token", "root_token"} & set(secret.get("data") or {}), secret["metadata"]["name"]
        for key, raw in (secret.get("data") or {}).items():
            try:
                value = base64.b64decode(raw).decode("ascii")
            except (ValueError, UnicodeDecodeError):
                continue
            if value and value.isprintable() and "\n" not in value:
                out[f"{secret['metadata']['name']}/{key}"] = value
    return out


def _held_tokens(tokens: OperatorTokens | None) -> list[str]:
    """The operator's OpenBao tokens in its memory (test-only peek: to prove they never leave it)."""
    assert tokens is not None
    return [h.token.reveal() for h in tokens._held.values() if h.token is not None]


async def test_selfinit_oidc_cluster_rolls_with_the_operators_own_token_and_no_root_token(
    control_plane: ControlPlane,
    node_agent: NodeAgent,
    namespace: str,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    node_agent.adopt_namespace(namespace)
    doc = _doc(namespace, "info")
    client = admin(control_plane, field_manager="test-user")
    try:
        async with running_operator(control_plane, namespace, resync_seconds=30) as op:
            started = time.monotonic()
            await client.apply(doc)
            await wait_available(client, namespace, NAME, within=300)
            bootstrap_s = time.monotonic() - started

            # (1) no root token anywhere the operator or a user could find one
            with pytest.raises(kube.NotFound):
                await client.get(kinds.SECRET, f"{NAME}-root-token", namespace=namespace)
            active = await _target(client, namespace, doc, active=True)
            values = await _secret_values(client, namespace)
            for where, value in values.items():
                code, _ = await _status(active, "GET", "auth/token/lookup-self", value)
                assert code in (400, 403), f"Secret value {where} is a token OpenBao knows (HTTP {code})"

            # (2) a token obtained as the operator obtains it: its policy and nothing else
            jwt = await request_token(
                op.client, namespace=namespace, service_account="openbao-operator", audience="openbao-internal"
            )
            login = await BaoClient(active).jwt_login(
                mount="jwt-operator", role="openbao-operator", jwt=Sensitive(jwt.jwt)
            )
            assert 0 < login.ttl_seconds <= 3600
            token = login.token.reveal()

            async def three_servers() -> bool:
                code, body = await _status(active, "GET", "sys/storage/raft/configuration", token)
                assert code == 200, code
                return len(body["data"]["config"]["servers"]) == 3

            # servers, not voters: the rollout below starts while autopilot may not have promoted them yet (the
            # rollout then waits for a quorum before the leader goes, test_rollout_e2e)
            await eventually(three_servers, what="3 raft servers (read with the operator's token)", within=60)
            forbidden = [
                ("GET", "sys/raw/core/keyring", None),
                ("GET", "secret/data/anything", None),
                ("PUT", "sys/policies/acl/mine", {"policy": 'path "*" { capabilities = ["sudo"] }'}),
                ("POST", "sys/mounts/kv", {"type": "kv"}),
                ("GET", "sys/storage/raft/snapshot", None),
                ("POST", "auth/token/create", {}),
                ("POST", "auth/jwt-operator/role/openbao-operator", {"token_policies": ["root"]}),
                ("GET", "auth/token/lookup-self", None),
            ]
            for method, path, payload in forbidden:
                code, _ = await _status(active, method, path, token, payload)
                assert code == 403, f"{method} {path}: HTTP {code}"
            # another ServiceAccount of the operator's namespace: the Role names only the operator's own
            with pytest.raises(TokenRequestError) as refused:
                await request_token(
                    op.client, namespace=namespace, service_account="default", audience="openbao-internal"
                )
            assert isinstance(refused.value.__cause__, kube.Forbidden)

            # (3) a config change: standbys first, the active node stepped down with the operator's own token
            leader = next(p["metadata"]["name"] for p in await _pods(client, namespace, NAME)
                          if _labels(p).get("openbao-active") == "true")  # fmt: skip
            sts_before = await client.get(kinds.STATEFULSET, NAME, namespace=namespace)
            revision_before = sts_before["status"]["updateRevision"]
            async with watching(client, namespace, NAME, leader=leader) as watcher:
                roll_started = time.monotonic()
                await client.apply(_doc(namespace, "debug"))
                await wait_rolled(client, namespace, NAME, revision_before, within=450)
                rollout_s = time.monotonic() - roll_started

            # (4) scale-down 3 -> 1 with the leader leaving: stepped down and peers removed with the operator's token
            leader_now = watcher.actives[-1]
            await client.apply(_doc(namespace, "debug", replicas=1))

            async def one_pod() -> bool:
                return [p["metadata"]["name"] for p in await _pods(client, namespace, NAME)] == [f"{NAME}-0"]

            await eventually(one_pod, what="pods 1 and 2 gone", within=180, interval=0.5)
            await wait_available(client, namespace, NAME, within=120)
            pod0 = await _target(client, namespace, doc, active=True)

            async def one_voter() -> bool:
                code, body = await _status(pod0, "GET", "sys/storage/raft/configuration", token)
                assert code == 200, code
                return [s["node_id"] for s in body["data"]["config"]["servers"]] == [f"{NAME}-0"]

            await eventually(one_voter, what="pod-0 the only raft voter (no dead peer left)", within=60)
            held = _held_tokens(op.reconciler.clients.operator_tokens)

        replaced = [p for _, p in watcher.replaced_at]
        assert sorted(replaced) == [f"{NAME}-{i}" for i in range(3)], watcher.replaced_at
        assert replaced[-1] == leader, (replaced, leader)
        assert len(watcher.actives) == 2, watcher.actives  # exactly one leadership change
        events = (await client.list(EVENT, namespace=namespace)).items
        notes: dict[str, list[str]] = {}
        for e in events:
            notes.setdefault(str(e.get("reason")), []).append(str(e.get("note") or ""))
        replaced_notes = notes.get("PodReplaced", [])
        assert any(leader in n and STEPPED_DOWN in n for n in replaced_notes), replaced_notes
        assert not any("graceful shutdown" in n for n in replaced_notes), replaced_notes
        assert "OperatorLoginFailed" not in notes, notes.get("OperatorLoginFailed")
        assert notes.get("RaftPeersRemoved"), notes.keys()
        if leader_now != f"{NAME}-0":
            assert any(leader_now in n for n in notes.get("SteppedDown", [])), notes.get("SteppedDown")
        assert held, "the operator holds its OpenBao token in memory"

        # (4) no token in any Event or in the operator's output
        output = "".join(capfd.readouterr())
        assert "became leader" in output or "reconcile" in output, "the operator's output was not captured"
        everything = output + "\n".join(n for ns in notes.values() for n in ns)
        for secret in [*held, token, jwt.jwt]:
            assert secret not in everything
        assert "eyJ" not in everything, "a JWT appears in an Event or a log line"
        obj = await client.get(kinds.CLUSTER, NAME, namespace=namespace)
        assert "root-token" not in str(obj.get("status"))
        assert condition(obj, "Degraded").get("status") == "False"
    finally:
        await client.close()
    print(
        f"\noidc: bootstrap {bootstrap_s:.1f} s, rollout {rollout_s:.1f} s, replaced {replaced}, "
        f"actives {watcher.actives}, {len(values)} Secret values tried as tokens, {len(output)} chars of output checked"
    )
