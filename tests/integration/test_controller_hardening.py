"""The reconcile against a real API server when a fact is missing or an object is not ours.

- A pass that fails ends with all its work: no write of it is still in flight when it returns.
- A live 3-replica StatefulSet keeps its replicas when the cluster's status and the pods' initialized label
  are gone (CR deleted with --cascade=orphan and re-created); the orphaned objects are adopted.
- A CA Secret of the cluster's name without the operator's labels (namespace mode, label-selected cache) is
  never replaced by a new CA; labelled, it is adopted and used.
- A same-named object of somebody else is neither taken over by server-side apply nor deleted by the
  deletion policy.
"""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from cryptography import x509

from openbao_operator import kube, pki, runtime
from openbao_operator.api import parse_cluster
from openbao_operator.controller import Reader, Reconciler, ReconcilerConfig, kinds
from openbao_operator.controller.tenancy import Everywhere
from openbao_operator.imagesig import ImageVerifier, Verdict
from tests.integration.kubehelp import KubeClients, eventually
from tests.integration.operatorhelp import (
    cluster_manifest,
    condition,
    converged,
    crd,
    get_or_none,
    mark_initialized,
    running_operator,
)
from tests.peers.controlplane import ControlPlane

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240), pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

EVENT = kube.resource_type("events.k8s.io/v1", "Event")


class SlowSecretWrites(httpx2.AsyncBaseTransport):
    """In front of the real API server: Secret writes take a second; counts requests still in flight."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.in_flight = 0
        self.secret_writes_done = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        slow = request.method in ("POST", "PATCH", "PUT") and "/secrets" in request.url.path
        self.in_flight += 1
        try:
            if slow:
                await asyncio.sleep(1.0)
            response = await self.inner.handle_async_request(request)
            if slow:
                self.secret_writes_done += 1
            return response
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


class RegistryDown:
    """An image verifier whose registry fails a moment after the pass started (the TLS and unseal writes are
    under way by then)."""

    async def verify(self, image: str, config: Any, **_: Any) -> Verdict:
        await asyncio.sleep(0.2)
        raise RuntimeError("registry unreachable (injected by the test)")


async def test_a_failed_pass_leaves_no_write_in_flight(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    user = kube_clients(field_manager="test-user")
    faults: list[SlowSecretWrites] = []

    def wrap(inner: httpx2.AsyncBaseTransport) -> httpx2.AsyncBaseTransport:
        faults.append(SlowSecretWrites(inner))
        return faults[0]

    client = kube.connect(control_plane.admin_kubeconfig, wrap_transport=wrap)
    events = runtime.EventRecorder(client, controller="openbao.org/test", instance="test")
    reconciler = Reconciler(
        kube=client,
        reader=Reader(client, caches={}),
        events=events,
        verifier=RegistryDown(),
        config=ReconcilerConfig(api_server_cidr="127.0.0.1/32"),
        tenancy_view=Everywhere(),
    )
    doc = cluster_manifest("inflight", namespace, replicas=1, imageVerification={"enabled": True, "publicKey": "k"})
    try:
        await user.apply(doc)
        with pytest.raises(RuntimeError, match="registry unreachable"):
            await reconciler.reconcile(kube.ObjectKey(namespace, "inflight"))
        assert faults[0].in_flight == 0, "a write of the failed pass was still in flight when it returned"
        done = faults[0].secret_writes_done
        await asyncio.sleep(1.5)
        assert faults[0].secret_writes_done == done, "a write of the failed pass completed after it returned"
    finally:
        await client.close()


class StaleClusterCache:
    """A cluster cache that still holds the cluster as it was before its deletion (a watch event not yet
    arrived): the view a pass may start from while an orphaning delete is under way."""

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj = obj

    def get(self, key: kube.ObjectKey) -> dict[str, Any] | None:
        meta = self.obj["metadata"]
        return self.obj if (key.namespace, key.name) == (meta["namespace"], meta["name"]) else None

    def list(self, *, namespace: str | None = None, labels: Any = None) -> list[dict[str, Any]]:
        return [self.obj]


async def test_a_stale_view_of_a_deleted_cluster_adopts_nothing(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    """A pass that read the cluster before its orphaning delete must not write the dying cluster's
    ownerReference back onto the objects the garbage collector has just orphaned: the collector would then
    delete them (a StatefulSet of a live OpenBao, and with it the pods). Adoption rechecks the cluster live."""
    user = kube_clients(field_manager="test-user")
    client = kube_clients(field_manager="openbao-operator")

    def reconciler(reader: Reader) -> Reconciler:
        events = runtime.EventRecorder(client, controller="openbao.org/test", instance="test")
        return Reconciler(
            kube=client,
            reader=reader,
            events=events,
            verifier=ImageVerifier(),  # image verification is off in this manifest
            config=ReconcilerConfig(api_server_cidr="127.0.0.1/32"),
            tenancy_view=Everywhere(),
        )

    await user.apply(cluster_manifest("stale", namespace, replicas=1))
    key = kube.ObjectKey(namespace, "stale")
    await reconciler(Reader(client, caches={})).reconcile(key)
    before = await client.get(kinds.CLUSTER, "stale", namespace=namespace)
    sts = await client.get(kinds.STATEFULSET, "stale", namespace=namespace)
    assert [r["uid"] for r in sts["metadata"]["ownerReferences"]] == [before["metadata"]["uid"]]

    # the operator's finalizer keeps the cluster in "deleting" while the collector orphans its objects
    await client.delete(kinds.CLUSTER, "stale", namespace=namespace, propagation="Orphan")

    async def orphaned() -> bool:
        got = await client.get(kinds.STATEFULSET, "stale", namespace=namespace)
        return not got["metadata"].get("ownerReferences")

    await eventually(orphaned, what="StatefulSet orphaned", within=60)
    await reconciler(Reader(client, caches={kinds.CLUSTER: StaleClusterCache(before)})).reconcile(key)
    after = await client.get(kinds.STATEFULSET, "stale", namespace=namespace)
    assert not after["metadata"].get("ownerReferences"), "a pass from a stale view adopted for a dying cluster"
    for rt, name in ((kinds.SERVICE, "stale"), (kinds.CONFIGMAP, "stale-config")):
        obj = await get_or_none(client, rt, name, namespace)
        assert obj is not None, name
        assert not obj["metadata"].get("ownerReferences"), f"{name} adopted for a dying cluster"
    # a live pass sees the deletion and lets the cluster go; its objects stay
    await reconciler(Reader(client, caches={})).reconcile(key)
    await eventually(lambda: _gone(client, "stale", namespace), what="cluster gone", within=30)
    assert await get_or_none(client, kinds.STATEFULSET, "stale", namespace) is not None


async def _gone(client: kube.KubeClient, name: str, namespace: str) -> bool:
    return await get_or_none(client, kinds.CLUSTER, name, namespace) is None


async def _orphan_delete(client: kube.KubeClient, name: str, namespace: str) -> None:
    await client.delete(kinds.CLUSTER, name, namespace=namespace, propagation="Orphan")

    async def gone_and_orphaned() -> bool:
        if await get_or_none(client, kinds.CLUSTER, name, namespace) is not None:
            return False
        sts = await client.get(kinds.STATEFULSET, name, namespace=namespace)
        return not sts["metadata"].get("ownerReferences")

    await eventually(gone_and_orphaned, what="cluster deleted, StatefulSet orphaned", within=60)


async def test_lost_status_never_shrinks_a_live_cluster(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    client = kube_clients(field_manager="test-user")
    async with running_operator(control_plane, namespace):
        await client.apply(cluster_manifest("keep", namespace, replicas=3))
        await eventually(lambda: converged(client, "keep", namespace), what="converged", within=60)
        await eventually(lambda: _pod_running(client, namespace, "keep-0"), what="pod-0 running", within=60)
        await mark_initialized(client, "keep", namespace)
        await eventually(lambda: _replicas(client, "keep", namespace, 3), what="3 replicas", within=60)

        # The CR goes away (its dependents orphaned) and comes back without status; no pod is labelled.
        await _orphan_delete(client, "keep", namespace)
        for i in range(3):
            with_label = await get_or_none(client, kinds.POD, f"keep-{i}", namespace)
            if with_label is not None:
                patch = {"metadata": {"labels": {"openbao-initialized": None}}}
                await client.merge_patch(kinds.POD, f"keep-{i}", patch, namespace=namespace)
        await client.apply(cluster_manifest("keep", namespace, replicas=3))
        new = await client.get(kinds.CLUSTER, "keep", namespace=namespace)

        async def adopted() -> dict[str, Any] | None:
            sts = await client.get(kinds.STATEFULSET, "keep", namespace=namespace)
            assert sts["spec"]["replicas"] == 3, "a missing fact lowered the replicas of a live cluster"
            refs = sts["metadata"].get("ownerReferences") or []
            return sts if [r.get("uid") for r in refs] == [new["metadata"]["uid"]] else None

        await eventually(adopted, what="the orphaned StatefulSet adopted by the new cluster", within=60)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:  # several passes (a recheck every few seconds): never below 3
            sts = await client.get(kinds.STATEFULSET, "keep", namespace=namespace)
            assert sts["spec"]["replicas"] == 3, "a missing fact lowered the replicas of a live cluster"
            await asyncio.sleep(0.25)
        obj = await client.get(kinds.CLUSTER, "keep", namespace=namespace)
        assert condition(obj, "Degraded").get("reason") == "InitializationUnknown", obj.get("status")
        # OpenBao's service registration labels pod-0 again: initialized, still 3
        await mark_initialized(client, "keep", namespace)

        async def initialized() -> bool:
            obj = await client.get(kinds.CLUSTER, "keep", namespace=namespace)
            return bool((obj.get("status") or {}).get("initialized"))

        await eventually(initialized, what="status.initialized again", within=30)
        assert (await client.get(kinds.STATEFULSET, "keep", namespace=namespace))["spec"]["replicas"] == 3


async def _pod_running(client: kube.KubeClient, namespace: str, name: str) -> bool:
    pod = await get_or_none(client, kinds.POD, name, namespace)
    return bool(pod and (pod.get("status") or {}).get("phase") == "Running")


async def _replicas(client: kube.KubeClient, name: str, namespace: str, want: int) -> bool:
    sts = await get_or_none(client, kinds.STATEFULSET, name, namespace)
    return bool(sts and sts["spec"]["replicas"] == want)


def _ca_secret(doc: dict[str, Any], namespace: str) -> dict[str, Any]:
    """A CA Secret for ``doc``'s cluster as the operator would make it, but with no labels and no owner (what a
    restore without labels, or a GitOps tool that rewrote the metadata, leaves)."""
    plan = pki.plan_operator_managed_tls(
        parse_cluster(doc),
        namespace=namespace,
        cluster_domain="cluster.local",
        now=datetime.now(UTC),
        ca_secret=None,
        server_secret=None,
    )
    ca, _ = pki.tls_secret_manifests(parse_cluster(doc), plan, namespace=namespace, owner_uid=None)
    ca["metadata"] = {"name": ca["metadata"]["name"], "namespace": namespace}
    return dict(ca)


async def test_an_unlabelled_ca_secret_is_never_replaced(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    client = kube_clients(field_manager="test-user")
    doc = cluster_manifest("keepca", namespace, replicas=1)
    restored = await client.create(_ca_secret(doc, namespace))
    async with running_operator(control_plane, namespace):
        await client.apply(doc)

        async def refused() -> dict[str, Any] | None:
            obj = await get_or_none(client, kinds.CLUSTER, "keepca", namespace)
            tls = condition(obj, "TLSReady")
            return obj if tls.get("reason") == "ForeignObject" and "keepca-tls-ca" in tls["message"] else None

        await eventually(refused, what="TLSReady=False ForeignObject", within=30)
        now = await client.get(kinds.SECRET, "keepca-tls-ca", namespace=namespace)
        assert now["data"] == restored["data"], "the restored CA was replaced"
        assert await get_or_none(client, kinds.STATEFULSET, "keepca", namespace) is None
        # labelled as the message says: adopted, and the server certificate comes from that very CA
        labels = {"app.kubernetes.io/managed-by": "openbao-operator", "openbao.org/cluster": "keepca"}
        await client.merge_patch(kinds.SECRET, "keepca-tls-ca", {"metadata": {"labels": labels}}, namespace=namespace)
        await eventually(
            lambda: get_or_none(client, kinds.STATEFULSET, "keepca", namespace), what="StatefulSet", within=30
        )
        after = await client.get(kinds.SECRET, "keepca-tls-ca", namespace=namespace)
        assert after["data"]["ca.crt"] == restored["data"]["ca.crt"]
        server = await client.get(kinds.SECRET, "keepca-tls-server", namespace=namespace)
        leaf = x509.load_pem_x509_certificate(base64.b64decode(server["data"]["tls.crt"]))
        ca = x509.load_pem_x509_certificate(base64.b64decode(restored["data"]["ca.crt"]))
        assert leaf.issuer == ca.subject


async def test_foreign_objects_are_neither_taken_over_nor_deleted(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    client = kube_clients(field_manager="other-team")
    theirs_cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "mine-config", "namespace": namespace},
        "data": {"owner": "another team"},
    }
    theirs_sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "mine", "namespace": namespace, "labels": {"team": "other"}},
        "spec": {
            "replicas": 0,
            "serviceName": "other",
            "selector": {"matchLabels": {"team": "other"}},
            "template": {
                "metadata": {"labels": {"team": "other"}},
                "spec": {"containers": [{"name": "c", "image": "example.invalid/other:1"}]},
            },
        },
    }
    await client.create(theirs_cm)
    sts_before = await client.create(theirs_sts)
    async with running_operator(control_plane, namespace):
        await client.apply(cluster_manifest("mine", namespace, replicas=1, deletionPolicy="DeletePVCs"))

        async def reported() -> dict[str, Any] | None:
            obj = await get_or_none(client, kinds.CLUSTER, "mine", namespace)
            degraded = condition(obj, "Degraded")
            return obj if degraded.get("reason") == "ForeignObject" else None

        await eventually(reported, what="Degraded=ForeignObject", within=30)
        cm = await client.get(kinds.CONFIGMAP, "mine-config", namespace=namespace)
        assert cm["data"] == {"owner": "another team"}
        assert not cm["metadata"].get("ownerReferences")
        sts = await client.get(kinds.STATEFULSET, "mine", namespace=namespace)
        assert not sts["metadata"].get("ownerReferences")
        assert sts["spec"]["template"] == sts_before["spec"]["template"]
        notes = await _warnings(client, namespace, "ForeignObject")
        assert any("ConfigMap mine-config" in n for n in notes), notes
        assert any("StatefulSet mine" in n for n in notes), notes

        # deletion policy DeletePVCs: deletes this cluster's StatefulSet only, never theirs
        await client.delete(kinds.CLUSTER, "mine", namespace=namespace)
        await eventually(lambda: _absent(client, kinds.CLUSTER, "mine", namespace), what="cluster deleted", within=30)
        survivor = await client.get(kinds.STATEFULSET, "mine", namespace=namespace)
        assert survivor["metadata"]["uid"] == sts_before["metadata"]["uid"]
        assert (await client.get(kinds.CONFIGMAP, "mine-config", namespace=namespace))["data"] == cm["data"]


async def _absent(client: kube.KubeClient, rt: kube.ResourceType, name: str, namespace: str) -> bool:
    return await get_or_none(client, rt, name, namespace) is None


async def _warnings(client: kube.KubeClient, namespace: str, reason: str) -> list[str]:
    events = await client.list(EVENT, namespace=namespace)
    return [str(e.get("note") or "") for e in events.items if e.get("reason") == reason and e.get("type") == "Warning"]


class Died(Exception):  # noqa: N818 - named by what happens, as the test reads it
    """The operator process 'dies' here (injected): nothing after this request happens."""


class DiesAfter(httpx2.AsyncBaseTransport):
    """In front of the real API server: the first request that matches reaches the server and is answered, then
    the caller dies instead of seeing the answer."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, *, method: str, path_end: str) -> None:
        self.inner = inner
        self.method = method
        self.path_end = path_end
        self.died = False

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        if not self.died and request.method == self.method and request.url.path.endswith(self.path_end):
            await response.aread()
            self.died = True
            raise Died(f"{request.method} {request.url.path}")
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize(
    ("method", "path_end"),
    [("PATCH", "/status"), ("POST", "/events")],
    ids=["dies-after-the-status-write", "dies-after-the-event"],
)
async def test_a_transition_event_survives_a_death_around_the_status_write(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str, method: str, path_end: str
) -> None:
    """The Warning Event of a condition's transition is recorded exactly once when the process dies right after
    the status write (before: never, the next process saw no transition left) or right after the Event (the
    next process redoes the transition and finds its Event there)."""
    user = kube_clients(field_manager="test-user")
    name = "bad-" + ("status" if method == "PATCH" else "event")
    await user.apply(cluster_manifest(name, namespace, configuration={"listener": {"tlsDisable": True}}))
    key = kube.ObjectKey(namespace, name)
    faults: list[DiesAfter] = []

    def wrap(inner: httpx2.AsyncBaseTransport) -> httpx2.AsyncBaseTransport:
        faults.append(DiesAfter(inner, method=method, path_end=path_end))
        return faults[0]

    def reconciler(client: kube.KubeClient) -> Reconciler:
        return Reconciler(
            kube=client,
            reader=Reader(client, caches={}),
            events=runtime.EventRecorder(client, controller="openbao.org/test", instance="test"),
            verifier=ImageVerifier(),
            config=ReconcilerConfig(api_server_cidr="127.0.0.1/32"),
            tenancy_view=Everywhere(),
        )

    dying = kube.connect(control_plane.admin_kubeconfig, wrap_transport=wrap, field_manager="openbao-operator")
    try:
        with pytest.raises(Died):
            await reconciler(dying).reconcile(key)
    finally:
        await dying.close()
    assert faults[0].died
    after_death = await user.get(kinds.CLUSTER, name, namespace=namespace)
    status_written = condition(after_death, "ConfigurationValid").get("status") == "False"
    assert status_written == (method == "PATCH"), after_death.get("status")

    client = kube_clients(field_manager="openbao-operator")
    await reconciler(client).reconcile(key)
    await reconciler(client).reconcile(key)  # a pass with nothing new: no transition, no Event
    got = await user.get(kinds.CLUSTER, name, namespace=namespace)
    assert condition(got, "ConfigurationValid").get("status") == "False"
    events = [
        e
        for e in (await user.list(EVENT, namespace=namespace)).items
        if e["regarding"].get("name") == name and e.get("action") == "Validate"
    ]
    assert len(events) == 1, [(e["metadata"]["name"], e.get("reason"), e.get("note")) for e in events]
    assert "spec.configuration.listener.tlsDisable" in events[0]["note"]
