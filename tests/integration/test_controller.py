"""The controller against the real control plane, the operator running as its ServiceAccount with deploy/ RBAC.

Each test gets its own namespace and its own operator (namespace mode, watching that namespace). kwok
plays the kubelet, so pods become Running and Ready without OpenBao; where OpenBao's service
registration matters (initialization), the test labels pod-0 as OpenBao would.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import pytest

from openbao_operator import kube
from openbao_operator.api import parse_cluster
from openbao_operator.controller import kinds
from openbao_operator.render.desired import render_desired
from openbao_operator.render.facts import RenderFacts
from tests.integration.kubehelp import KubeClients, eventually
from tests.integration.operatorhelp import (
    cluster_manifest,
    condition,
    converged,
    crd,
    get_or_none,
    mark_initialized,
    reconciles,
    running_operator,
    writes,
)
from tests.peers.controlplane import ControlPlane

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180), pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

SC = kube.resource_type("storage.k8s.io/v1", "StorageClass")


def _owned_by(obj: dict[str, Any], uid: str) -> bool:
    return any(r.get("uid") == uid and r.get("controller") for r in obj["metadata"].get("ownerReferences") or ())


async def test_apply_creates_every_object_with_owners_and_reports_status(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    client = kube_clients(field_manager="test-user")
    async with running_operator(control_plane, namespace):
        started = time.monotonic()
        created = await client.apply(cluster_manifest("bao", namespace))
        uid = created["metadata"]["uid"]
        cluster = parse_cluster(created)
        desired = render_desired(
            cluster, facts=RenderFacts(namespace=namespace, owner_uid=uid, api_server_cidr="127.0.0.1/32")
        )
        expected = [(kube.resource_of(o), o["metadata"]["name"]) for o in desired.objects]

        async def all_present() -> bool:
            for rt, name in expected:
                obj = await get_or_none(client, rt, name, namespace)
                if obj is None or not _owned_by(obj, uid):
                    return False
            return True

        await eventually(all_present, what="every rendered object, owned by the cluster", within=15)
        elapsed = time.monotonic() - started
        assert elapsed < 10, f"objects took {elapsed:.1f}s"
        for name in ("bao-tls-ca", "bao-tls-server"):
            secret = await client.get(kinds.SECRET, name, namespace=namespace)
            assert _owned_by(secret, uid)
        key = await client.get(kinds.SECRET, "bao-unseal-key", namespace=namespace)
        assert not key["metadata"].get("ownerReferences"), "the unseal key is not owned under Retain"
        assert key.get("immutable") is True
        assert len(base64.b64decode(key["data"]["key"])) == 32

        async def pod_running() -> bool:
            pod = await get_or_none(client, kinds.POD, "bao-0", namespace)
            return bool(pod and (pod.get("status") or {}).get("phase") == "Running")

        await eventually(pod_running, what="pod bao-0 Running", within=20)
        got = await eventually(lambda: converged(client, "bao", namespace), what="status", within=20)
        assert condition(got, "Available")["reason"] in ("WaitingForInitialization", "AllReplicasReady")
        await mark_initialized(client, "bao", namespace)
        done = await eventually(
            lambda: converged(client, "bao", namespace, available=True), what="3 pods ready", within=30
        )
        status = done["status"]
        assert status["phase"] == "Running"
        assert status["readyReplicas"] == 3
        assert status["initialized"] is True
        assert condition(done, "TLSReady")["status"] == "True"
        assert condition(done, "ProductionReady")["reason"] == "DevelopmentProfile"
        assert condition(done, "SecurityRisk")["status"] == "True"
        assert condition(done, "Degraded")["status"] == "False"
        assert condition(done, "Paused")["status"] == "False"
        assert condition(done, "FieldsIgnored")["status"] == "False"
        assert "finalizers" in done["metadata"]
        pdb = await client.get(kinds.PDB, "bao-pdb", namespace=namespace)
        assert _owned_by(pdb, uid)


async def test_idle_cluster_costs_zero_writes(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    """60 s of an unchanged cluster, resynced every 5 s: not one write request (Lease renewals aside)."""
    client = kube_clients(field_manager="test-user")
    counter = kube.RequestCounter()
    async with running_operator(control_plane, namespace, counter=counter, resync_seconds=5) as operator:
        await client.apply(cluster_manifest("idle", namespace))
        await eventually(lambda: converged(client, "idle", namespace), what="converged", within=30)
        await mark_initialized(client, "idle", namespace)
        await eventually(lambda: converged(client, "idle", namespace, available=True), what="ready", within=30)
        await asyncio.sleep(3)  # let the last watch events land
        counter.reset()
        before = reconciles(operator)
        await asyncio.sleep(60)
        done = reconciles(operator) - before
        assert done >= 10, f"only {done} reconciles in 60 s: resync did not run"
        assert writes(counter) == [], f"writes while idle: {writes(counter)}"
        reads = sum(n for m, n in counter.by_method.items() if m == "GET")
        # Secrets are never listed or watched, in namespace mode too (least privilege, docs/security.md):
        # the reconcile reads this cluster's Secrets by name (the CA, the server certificate, the unseal
        # key); every other read comes from the caches. The GETs left are the Lease's (one per retry
        # period) and watch reconnects.
        lease_gets = sum(1 for m, p in counter.log if m == "GET" and "/leases/" in p)
        secret_gets = sum(1 for m, p in counter.log if m == "GET" and "/secrets/" in p)
        print(f"idle 60 s: {done:.0f} reconciles, {reads} GETs ({lease_gets} Lease, {secret_gets} Secret)")
        assert secret_gets <= 3 * (done + 1)
        informers = len(operator.manager.informers) + sum(len(s.informers()) for s in operator.manager.scopes)
        assert reads - lease_gets - secret_gets <= 2 * informers


async def test_hand_edit_reverted_foreign_fields_kept_no_write_loop(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    client = kube_clients(field_manager="test-user")
    gitops = kube_clients(field_manager="gitops-tool")
    counter = kube.RequestCounter()
    async with running_operator(control_plane, namespace, counter=counter, resync_seconds=3) as operator:
        await client.apply(cluster_manifest("edit", namespace))
        await eventually(lambda: converged(client, "edit", namespace), what="converged", within=30)
        original = (await client.get(kinds.CONFIGMAP, "edit-config", namespace=namespace))["data"]
        # an owned field, edited by hand
        await client.merge_patch(
            kinds.CONFIGMAP, "edit-config", {"data": {"config.hcl": "tampered"}}, namespace=namespace
        )
        # fields of another manager: an annotation and a label on the Service, an annotation on the StatefulSet
        await gitops.apply(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": "edit",
                    "namespace": namespace,
                    "annotations": {"example.com/owner": "team-a"},
                    "labels": {"gitops.example/tracked": "yes"},
                },
            },
            force=False,
        )
        await gitops.merge_patch(
            kinds.STATEFULSET, "edit", {"metadata": {"annotations": {"example.com/x": "1"}}}, namespace=namespace
        )

        async def restored() -> bool:
            cm = await client.get(kinds.CONFIGMAP, "edit-config", namespace=namespace)
            return bool(cm["data"] == original)

        await eventually(restored, what="config.hcl restored", within=15)
        await asyncio.sleep(4)  # a resync after the revert
        counter.reset()
        before = reconciles(operator)
        await asyncio.sleep(10)
        # NB: "no writes" means something only if reconciles ran meanwhile (resync every 3 s).
        assert reconciles(operator) - before >= 2, "no reconcile ran: the no-write check would prove nothing"
        assert writes(counter) == [], f"write loop: {writes(counter)}"
        svc = await client.get(kinds.SERVICE, "edit", namespace=namespace)
        assert svc["metadata"]["annotations"]["example.com/owner"] == "team-a"
        assert svc["metadata"]["labels"]["gitops.example/tracked"] == "yes"
        sts = await client.get(kinds.STATEFULSET, "edit", namespace=namespace)
        assert sts["metadata"]["annotations"]["example.com/x"] == "1"


async def test_features_turned_off_are_pruned(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    """PDB below 3 replicas, a renamed ServiceAccount with its RoleBinding, a disabled Ingress."""
    client = kube_clients(field_manager="test-user")
    async with running_operator(control_plane, namespace):
        spec = {"ingress": {"enabled": True, "host": "bao.example.com"}}
        await client.apply(cluster_manifest("pr", namespace, **spec))
        await eventually(lambda: converged(client, "pr", namespace), what="converged", within=30)
        for rt, name in [
            (kinds.PDB, "pr-pdb"),
            (kinds.INGRESS, "pr"),
            (kinds.SERVICEACCOUNT, "pr-serviceaccount"),
            (kinds.ROLEBINDING, "pr-serviceaccount-openbao-server"),
        ]:
            assert await get_or_none(client, rt, name, namespace) is not None, name
        changed = cluster_manifest("pr", namespace, replicas=1, serviceAccount={"name": "renamed"})
        await client.apply(changed)

        async def pruned() -> bool:
            gone = [
                await get_or_none(client, rt, name, namespace) is None
                for rt, name in [
                    (kinds.PDB, "pr-pdb"),
                    (kinds.INGRESS, "pr"),
                    (kinds.SERVICEACCOUNT, "pr-serviceaccount"),
                    (kinds.ROLEBINDING, "pr-serviceaccount-openbao-server"),
                ]
            ]
            present = await get_or_none(client, kinds.ROLEBINDING, "renamed-openbao-server", namespace)
            return all(gone) and present is not None

        await eventually(pruned, what="leftovers deleted, the renamed identity created", within=20)


async def test_paused_invalid_and_hardened_are_reported_not_applied(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    client = kube_clients(field_manager="test-user")
    async with running_operator(control_plane, namespace):
        # Hardened is enforced at admission (CRD rules from api/profile.py), as the reference's policy does.
        with pytest.raises(kube.Invalid) as refused:
            await client.apply(cluster_manifest("hard", namespace, profile="Hardened"))
        assert "spec.tls.mode" in str(refused.value)
        assert "spec.unseal.type" in str(refused.value)
        assert await get_or_none(client, kinds.CLUSTER, "hard", namespace) is None

        await client.apply(cluster_manifest("paused", namespace, paused=True))
        got = await eventually(
            lambda: _condition_is(client, "paused", namespace, "Paused", "True"), what="paused", within=20
        )
        assert await get_or_none(client, kinds.STATEFULSET, "paused", namespace) is None
        assert await get_or_none(client, kinds.CONFIGMAP, "paused-config", namespace) is None

        bad = cluster_manifest("bad", namespace, configuration={"listener": {"tlsDisable": True}})
        await client.apply(bad)
        got = await eventually(
            lambda: _condition_is(client, "bad", namespace, "ConfigurationValid", "False"),
            what="render error reported",
            within=20,
        )
        assert "spec.configuration.listener.tlsDisable" in condition(got, "ConfigurationValid")["message"]
        assert await get_or_none(client, kinds.STATEFULSET, "bad", namespace) is None


async def _condition_is(
    client: kube.KubeClient, name: str, namespace: str, type_: str, status: str
) -> dict[str, Any] | None:
    obj = await get_or_none(client, kinds.CLUSTER, name, namespace)
    return obj if condition(obj, type_).get("status") == status else None


async def test_storage_growth_recreates_statefulset_keeping_pods_and_claims(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    client = kube_clients(field_manager="test-user")
    sc_name = f"expandable-{namespace}"
    await client.apply(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": sc_name},
            "provisioner": "example.com/none",
            "allowVolumeExpansion": True,
        }
    )
    try:
        async with running_operator(control_plane, namespace):
            storage = {"size": "1Gi", "storageClassName": sc_name}
            await client.apply(cluster_manifest("grow", namespace, replicas=1, storage=storage))
            await eventually(lambda: converged(client, "grow", namespace), what="converged", within=30)

            async def running_pod() -> dict[str, Any] | None:
                pod = await get_or_none(client, kinds.POD, "grow-0", namespace)
                return pod if pod and (pod.get("status") or {}).get("phase") == "Running" else None

            pod = await eventually(running_pod, what="grow-0 Running", within=20)
            claim = await eventually(
                lambda: get_or_none(client, kinds.PVC, "data-grow-0", namespace), what="claim", within=10
            )
            # No provisioner runs here: bind the claim by hand, as a provisioner would report it.
            bound = {"status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}}
            await client.merge_patch(kinds.PVC, "data-grow-0", bound, namespace=namespace, status=True)
            sts = await client.get(kinds.STATEFULSET, "grow", namespace=namespace)

            await client.apply(cluster_manifest("grow", namespace, replicas=1, storage={**storage, "size": "2Gi"}))

            async def recreated() -> dict[str, Any] | None:
                now = await get_or_none(client, kinds.STATEFULSET, "grow", namespace)
                if now is None or now["metadata"]["uid"] == sts["metadata"]["uid"]:
                    return None
                vct = now["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
                return now if vct == "2Gi" else None

            await eventually(recreated, what="StatefulSet recreated with 2Gi claims", within=30)
            after_pod = await eventually(running_pod, what="grow-0 still Running", within=10)
            assert after_pod["metadata"]["uid"] == pod["metadata"]["uid"], "the pod was replaced"
            after_claim = await client.get(kinds.PVC, "data-grow-0", namespace=namespace)
            assert after_claim["metadata"]["uid"] == claim["metadata"]["uid"]
            assert after_claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
            await eventually(lambda: converged(client, "grow", namespace), what="converged again", within=30)

            # shrinking is refused, with a condition, and nothing is recreated
            current = await client.get(kinds.STATEFULSET, "grow", namespace=namespace)
            await client.apply(cluster_manifest("grow", namespace, replicas=1, storage=storage))
            got = await eventually(
                lambda: _condition_is(client, "grow", namespace, "Degraded", "True"), what="refusal", within=20
            )
            assert condition(got, "Degraded")["reason"] == "StorageShrinkNotSupported"
            assert "spec.storage.size" in condition(got, "Degraded")["message"]
            await asyncio.sleep(2)
            still = await client.get(kinds.STATEFULSET, "grow", namespace=namespace)
            assert still["metadata"]["uid"] == current["metadata"]["uid"]
    finally:
        await client.delete(SC, sc_name)


@pytest.mark.parametrize("policy", ["Retain", "DeletePVCs", "DeleteAll"])
async def test_deletion_policy(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str, policy: str
) -> None:
    client = kube_clients(field_manager="test-user")
    async with running_operator(control_plane, namespace):
        await client.apply(cluster_manifest("del", namespace, replicas=1, deletionPolicy=policy))
        await eventually(lambda: converged(client, "del", namespace), what="converged", within=30)
        await eventually(lambda: get_or_none(client, kinds.PVC, "data-del-0", namespace), what="the claim", within=20)
        key_before = await client.get(kinds.SECRET, "del-unseal-key", namespace=namespace)
        await client.delete(kinds.CLUSTER, "del", namespace=namespace)

        async def cluster_gone() -> bool:
            return await get_or_none(client, kinds.CLUSTER, "del", namespace) is None

        await eventually(cluster_gone, what="the cluster deleted (finalizer done)", within=30)

        async def children_gone() -> bool:
            for rt, name in [
                (kinds.STATEFULSET, "del"),
                (kinds.CONFIGMAP, "del-config"),
                (kinds.SECRET, "del-tls-server"),
                (kinds.SERVICE, "del"),
            ]:
                if await get_or_none(client, rt, name, namespace) is not None:
                    return False
            return True

        await eventually(children_gone, what="owned children garbage-collected", within=30)

        async def claim_state() -> bool:
            claim = await get_or_none(client, kinds.PVC, "data-del-0", namespace)
            if policy == "Retain":
                return claim is not None and not claim["metadata"].get("deletionTimestamp")
            return claim is None

        await eventually(claim_state, what=f"the claim under {policy}", within=30)
        key = await get_or_none(client, kinds.SECRET, "del-unseal-key", namespace)
        if policy == "DeleteAll":
            await eventually(
                lambda: _absent(client, kinds.SECRET, "del-unseal-key", namespace), what="key deleted", within=20
            )
        else:
            assert key is not None, f"the unseal key must survive {policy}"
            assert key["data"] == key_before["data"]
            assert key["metadata"]["uid"] == key_before["metadata"]["uid"]


async def _absent(client: kube.KubeClient, rt: kube.ResourceType, name: str, namespace: str) -> bool:
    return await get_or_none(client, rt, name, namespace) is None


async def test_upgrade_prunes_the_per_cluster_role_of_earlier_versions(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    """Earlier versions rendered Role `<sa>-role` (pods update/patch) and RoleBinding `<sa>-rolebinding`; the
    pods now bind the pre-installed ClusterRole openbao-server, and the old pair is pruned (by ownership)."""
    client = kube_clients(field_manager="old-operator")
    async with running_operator(control_plane, namespace):
        await client.apply(cluster_manifest("up", namespace, replicas=1))
        cluster = await eventually(lambda: converged(client, "up", namespace), what="converged", within=30)
        meta = {
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "openbao-operator", "openbao.org/cluster": "up"},
            "ownerReferences": [
                {"apiVersion": "openbao.org/v1alpha1", "kind": "OpenBaoCluster", "name": "up",
                 "uid": cluster["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
            ],
        }  # fmt: skip
        rbac = "rbac.authorization.k8s.io"
        await client.apply(
            {
                "apiVersion": f"{rbac}/v1",
                "kind": "Role",
                "metadata": {"name": "up-serviceaccount-role", **meta},
                "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "update", "patch"]}],
            }
        )
        await client.apply(
            {
                "apiVersion": f"{rbac}/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "up-serviceaccount-rolebinding", **meta},
                "roleRef": {"apiGroup": rbac, "kind": "Role", "name": "up-serviceaccount-role"},
                "subjects": [{"kind": "ServiceAccount", "name": "up-serviceaccount", "namespace": namespace}],
            }
        )

        async def pruned() -> bool:
            role = await get_or_none(client, kinds.ROLE, "up-serviceaccount-role", namespace)
            old = await get_or_none(client, kinds.ROLEBINDING, "up-serviceaccount-rolebinding", namespace)
            new = await get_or_none(client, kinds.ROLEBINDING, "up-serviceaccount-openbao-server", namespace)
            return role is None and old is None and new is not None

        await eventually(pruned, what="the old Role and RoleBinding pruned, the new binding kept", within=30)
