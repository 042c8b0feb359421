"""A deeply nested OpenBaoCluster against the real API server and the operator as a real process.

The API server stores JSON nested up to 10,000 levels under ``x-kubernetes-preserve-unknown-fields``
(``spec.backup`` here); Python's decoders stop near 1,000. These tests show:

- such an object, already in etcd, stops nothing: the other clusters converge, it gets a Warning Event
  ``Undecodable``, a moderately deep one (decodable) gets ``ConfigurationValid=False`` naming the field,
  and /healthz and /readyz stay green while the informers are healthy;
- an operator whose caches cannot sync fails /healthz; once it leads, it releases the lease and exits 1 at
  once (a standby takes over) instead of holding the lease while reconciling nothing;
- deploy/admission-policy.yaml (a ValidatingAdmissionPolicy) refuses a spec nested deeper than 32 levels
  and admits every valid manifest, while an object stored before the policy existed can still be cleaned up.

The deep objects are created while no admission policy is installed (as objects stored before the policy
existed, or in a cluster that does not install it): that is the case the operator must survive anyway.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from openbao_operator import kube
from openbao_operator.api.depth import MAX_SPEC_DEPTH, POLICY_NAME, admission_policy
from openbao_operator.controller import kinds
from openbao_operator.runtime.leader import LEASE
from tests.integration.kubehelp import KubeClients, admin, eventually
from tests.integration.operatorhelp import cluster_manifest, condition, converged, crd, get_or_none
from tests.peers.controlplane import ControlPlane
from tests.peers.deploy import apply, install_operator, operator_process
from tests.peers.pins import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

EVENT = kube.resource_type("events.k8s.io/v1", "Event")
UNDECODABLE_LEVELS = 5_000
"""Far beyond what Python decodes (~1,000), far within what the API server stores (10,000)."""
DECODABLE_LEVELS = 200
"""Decodable, but deeper than the models' 32 levels: an invalid spec, reported as such."""


def nested(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"a": value}
    return value


def deep_cluster(name: str, namespace: str, levels: int) -> str:
    """The manifest as JSON text (built as text: json.dumps itself recurses and cannot write 5,000 levels)."""
    doc = cluster_manifest(name, namespace, replicas=1)
    # a self-init request's data is the subtree the CRD schema leaves free-form (x-kubernetes-preserve-unknown-fields)
    request = {"name": "deep", "operation": "update", "path": "secret/data/deep", "data": "__DEEP__"}
    doc["spec"]["selfInit"] = {"enabled": True, "requests": [request]}
    text = json.dumps(doc)
    return text.replace('"__DEEP__"', '{"a":' * levels + '"bottom"' + "}" * levels)


def create_raw(plane: ControlPlane, namespace: str, body: str, *, dry_run: bool = False) -> tuple[int, dict[str, Any]]:
    """POST the manifest text; the answer is decoded only when it is an error Status (a created deep object
    echoed back would not decode)."""
    path = f"/apis/openbao.org/v1alpha1/namespaces/{namespace}/openbaoclusters"
    if dry_run:
        path += "?dryRun=All"
    status, data = plane.raw_request("POST", path, body=body.encode(), content_type="application/json")
    return status, (json.loads(data) if status >= 300 else {})


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()
    except OSError as exc:
        return 0, str(exc)


async def probe(port: int, path: str) -> tuple[int, str]:
    return await asyncio.to_thread(_get, port, path)


def _drop(plane: ControlPlane, name: str, namespace: str) -> None:
    """Remove a cluster without the operator (finalizer cleared) so the namespace can go (raw requests: the
    answers may be objects too deep to decode)."""
    path = f"/apis/openbao.org/v1alpha1/namespaces/{namespace}/openbaoclusters/{name}"
    patch = b'{"metadata": {"finalizers": null}}'
    plane.raw_request("PATCH", path, body=patch, content_type="application/merge-patch+json")
    plane.raw_request("DELETE", path)


@pytest.mark.timeout(300)
async def test_a_deeply_nested_cluster_stops_nothing(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str, tmp_path: Path, peer_logs: Path
) -> None:
    identity = install_operator(
        control_plane, namespace=namespace, mode="namespace", watch=(namespace,), suffix=namespace
    )
    client = kube_clients(field_manager="test-user")
    for name, levels in (("deep", UNDECODABLE_LEVELS), ("mid", DECODABLE_LEVELS)):
        status, answer = create_raw(control_plane, namespace, deep_cluster(name, namespace, levels))
        assert status == 201, f"the API server stores {levels} levels: {str(answer)[:300]}"
    await client.apply(cluster_manifest("good1", namespace, replicas=1))
    proc, port = operator_process(identity, workdir=tmp_path, logs=peer_logs, name="nesting-operator", resync_seconds=5)
    proc.start()
    try:
        await eventually(lambda: converged(client, "good1", namespace), what="good1 converged", within=60)

        async def undecodable_event() -> dict[str, Any] | None:
            for event in (await client.list(EVENT, namespace=namespace)).items:
                if event.get("reason") == "Undecodable" and event["regarding"].get("name") == "deep":
                    return event
            return None

        event = await eventually(undecodable_event, what="an Undecodable Event on deep", within=30)
        assert event["type"] == "Warning"
        assert "RecursionError" in event["note"]
        assert event["regarding"]["kind"] == "OpenBaoCluster"

        async def mid_invalid() -> dict[str, Any] | None:
            obj = await get_or_none(client, kinds.CLUSTER, "mid", namespace)
            return obj if condition(obj, "ConfigurationValid").get("reason") == "InvalidSpec" else None

        mid = await eventually(mid_invalid, what="mid reported InvalidSpec", within=30)
        message = condition(mid, "ConfigurationValid")["message"]
        assert message.startswith("spec.selfInit.requests[0].data.a.a.a"), message
        assert f"more than {MAX_SPEC_DEPTH} levels" in condition(mid, "ConfigurationValid")["message"]

        # the watch goes on after the undecodable object changes (a MODIFIED event it cannot decode either)
        # (raw: the answer is the deep object, which our own client reports as Undecodable)
        status, _ = control_plane.raw_request(
            "PATCH",
            f"/apis/openbao.org/v1alpha1/namespaces/{namespace}/openbaoclusters/deep",
            body=b'{"metadata": {"labels": {"poke": "1"}}}',
            content_type="application/merge-patch+json",
        )
        assert status == 200
        await client.apply(cluster_manifest("good2", namespace, replicas=1))
        await eventually(lambda: converged(client, "good2", namespace), what="good2 converged", within=60)
        await client.apply(cluster_manifest("good1", namespace, replicas=1, configuration={"logLevel": "debug"}))

        async def good1_debug() -> bool:
            cm = await get_or_none(client, kinds.CONFIGMAP, "good1-config", namespace)
            text = ((cm or {}).get("data") or {}).get("config.hcl", "")
            return re.search(r'log_level\s*=\s*"debug"', text) is not None

        await eventually(good1_debug, what="good1's change converged", within=60)
        assert await get_or_none(client, kinds.STATEFULSET, "deep", namespace) is None, "nothing rendered for deep"
        assert await probe(port, "/healthz") == (200, "ok\n")
        assert await probe(port, "/readyz") == (200, "ok\n")
        assert proc.alive()
    finally:
        proc.stop(grace=10)
        for name in ("deep", "mid", "good1", "good2"):
            _drop(control_plane, name, namespace)


@pytest.mark.timeout(240)
async def test_an_operator_whose_caches_cannot_sync_fails_healthz_and_as_leader_releases_the_lease_and_exits(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str, tmp_path: Path, peer_logs: Path
) -> None:
    installed = install_operator(
        control_plane, namespace=namespace, mode="namespace", watch=(namespace,), suffix=namespace
    )
    # Replica b is told to watch a second namespace it has no RBAC for: that LIST is refused forever, so its
    # caches never sync. Replica a is healthy and leads first.
    broken = dataclasses.replace(installed, watch=(namespace, "kube-public"))
    lease = (4.0, 3.0, 0.5)
    client = kube_clients(field_manager="test-user")
    a, port_a = operator_process(installed, workdir=tmp_path, logs=peer_logs, name="healthy-a", lease=lease)
    b, port_b = operator_process(
        broken, workdir=tmp_path, logs=peer_logs, name="unsynced-b", lease=lease, cache_sync_timeout=6.0
    )
    try:

        async def holder() -> str | None:
            found = await get_or_none(client, LEASE, "openbao-operator", namespace)
            return ((found or {}).get("spec") or {}).get("holderIdentity") or None

        a.start()
        await eventually(lambda: _is(holder(), "healthy-a"), what="replica a leads", within=30)
        b.start()

        async def unhealthy() -> str | None:
            status, text = await probe(port_b, "/healthz")
            return text if status == 503 else None

        text = await eventually(unhealthy, what="/healthz of b failing", within=40, interval=0.25)
        assert "not synced after 6s" in text
        assert "kube-public" in text
        assert "forbidden" in text.lower()
        assert b.alive(), "a standby that cannot sync is restarted by its liveness probe, not by itself"
        assert await probe(port_a, "/healthz") == (200, "ok\n")

        a.kill()

        async def exited() -> bool:
            return not b.alive()

        # b acquires the lease once a's expires, finds its caches still unsynced, releases the lease and exits
        await eventually(exited, what="b leads, gives up and exits", within=30)
        assert b.proc is not None
        assert b.proc.returncode == 1
        log = b.log.read_text()
        assert "became leader" in log
        assert "caches not synced within 6s" in log
        assert "released leadership" in log
        assert await holder() is None, "the lease is free for the next replica"
    finally:
        a.stop(grace=10)
        b.stop(grace=10)


async def _is(value: Any, expected: str | None) -> bool:
    return bool(await value == expected)


def _valid_manifests(namespace: str) -> list[dict[str, Any]]:
    docs = []
    for path in sorted((REPO_ROOT / "tests" / "data" / "valid").glob("*.yaml")) + sorted(
        (REPO_ROOT / "examples").glob("*.yaml")
    ):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "OpenBaoCluster":
                doc["metadata"]["namespace"] = namespace
                docs.append(doc)
    return docs


def _with_spec_depth(namespace: str, name: str, depth: int) -> str:
    """A manifest whose spec has exactly ``depth`` levels (spec is level 1, selfInit 2, requests 3, the request
    4, its data's first "a" level 5...)."""
    return deep_cluster(name, namespace, depth - 4)


@pytest.mark.timeout(180)
async def test_the_admission_policy_bounds_nesting_and_admits_every_valid_manifest(
    control_plane: ControlPlane, namespace: str
) -> None:
    plane = control_plane
    # stored before the policy exists: must remain deletable afterwards
    status, answer = create_raw(plane, namespace, _with_spec_depth(namespace, "legacy", 60))
    assert status == 201, str(answer)[:300]
    policy, binding = admission_policy()
    committed = list(yaml.safe_load_all((REPO_ROOT / "deploy" / "admission-policy.yaml").read_text()))
    assert committed == [policy, binding]
    client = admin(plane, field_manager="test-user")
    try:
        apply(plane, policy)
        apply(plane, binding)

        async def refused() -> str | None:
            too_deep = _with_spec_depth(namespace, "probe", MAX_SPEC_DEPTH + 1)
            code, body = create_raw(plane, namespace, too_deep, dry_run=True)
            return str(body.get("message")) if code == 422 else None

        message = await eventually(refused, what="the policy in force", within=60, interval=0.5)
        assert f"spec: nested more than {MAX_SPEC_DEPTH} levels below spec" in message
        assert POLICY_NAME in message

        code, body = create_raw(plane, namespace, _with_spec_depth(namespace, "at-limit", MAX_SPEC_DEPTH), dry_run=True)
        assert code == 201, str(body)[:300]
        code, body = create_raw(plane, namespace, _with_spec_depth(namespace, "very", UNDECODABLE_LEVELS), dry_run=True)
        assert code == 422, str(body)[:300]

        for doc in _valid_manifests(namespace):
            code, body = create_raw(plane, namespace, json.dumps(doc), dry_run=True)
            assert code == 201, f"{doc['metadata']['name']}: {str(body)[:400]}"

        # the legacy object: a spec update is refused, metadata-only updates and deletion are not
        refused_update = await asyncio.gather(
            client.merge_patch(kinds.CLUSTER, "legacy", {"spec": {"replicas": 3}}, namespace=namespace),
            return_exceptions=True,
        )
        assert isinstance(refused_update[0], kube.Invalid), refused_update
        await client.merge_patch(kinds.CLUSTER, "legacy", {"metadata": {"labels": {"x": "y"}}}, namespace=namespace)
        await client.delete(kinds.CLUSTER, "legacy", namespace=namespace)
    finally:
        for kind, obj in (("validatingadmissionpolicybindings", binding), ("validatingadmissionpolicies", policy)):
            plane.request("DELETE", f"/apis/admissionregistration.k8s.io/v1/{kind}/{obj['metadata']['name']}")
        _drop(plane, "legacy", namespace)
        await client.close()
