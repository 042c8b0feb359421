"""Opt-in tenancy against the real API server: the cluster-wide operator writes only where a namespace opted in.

Each test runs the operator cluster-wide, as its own ServiceAccount in a namespace of its own, with exactly
deploy/'s RBAC and admission policies; the namespace under test is another one.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

from openbao_operator import kube
from openbao_operator.controller import kinds
from openbao_operator.kube.transport import SplitTransport
from tests.integration.kubehelp import KubeClients, eventually
from tests.integration.operatorhelp import (
    cluster_manifest,
    condition,
    converged,
    crd,
    get_or_none,
    running_operator,
)
from tests.peers.controlplane import ControlPlane
from tests.peers.deploy import onboard, tenant_manifest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300), pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

CHILD_KINDS = [
    kinds.STATEFULSET,
    kinds.SERVICE,
    kinds.CONFIGMAP,
    kinds.SERVICEACCOUNT,
    kinds.ROLEBINDING,
    kinds.PDB,
    kinds.NETWORKPOLICY,
    kinds.SECRET,
]


@pytest.fixture
async def operator_namespace(kube: AsyncClient) -> AsyncIterator[str]:
    """The cluster-wide operator's own namespace (its ServiceAccount, its Lease)."""
    name = f"op-{uuid.uuid4().hex[:10]}"
    await kube.create(Namespace(metadata=ObjectMeta(name=name)))
    try:
        yield name
    finally:
        await kube.delete(Namespace, name)


async def _written_by_operator(client: kube.KubeClient, namespace: str) -> list[str]:
    """Every object in ``namespace`` the operator made (its label), of every kind it could make."""
    found = []
    for rt in CHILD_KINDS:
        for obj in (await client.list(rt, namespace=namespace)).items:
            labels = obj["metadata"].get("labels") or {}
            if labels.get("app.kubernetes.io/managed-by") == "openbao-operator":
                found.append(f"{obj['kind']}/{obj['metadata']['name']}")
    return found


async def _tenant(client: kube.KubeClient, name: str, namespace: str) -> dict[str, Any] | None:
    return await get_or_none(client, kinds.TENANT, name, namespace)


async def test_no_opt_in_gets_the_condition_and_no_object_then_onboarding_converges(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str, operator_namespace: str
) -> None:
    client = kube_clients(field_manager="test-user")
    async with running_operator(control_plane, operator_namespace, cluster_wide=True):
        await client.apply(cluster_manifest("lone", namespace, replicas=1))

        async def told() -> dict[str, Any] | None:
            obj = await get_or_none(client, kinds.CLUSTER, "lone", namespace)
            return obj if condition(obj, "TenantOnboarded").get("status") == "False" else None

        cluster = await eventually(told, what="TenantOnboarded=False", within=30)
        cond = condition(cluster, "TenantOnboarded")
        assert cond["reason"] == "NamespaceNotOnboarded"
        assert f"OpenBaoTenant with spec.targetNamespace: {namespace}" in cond["message"]
        assert "openbao.org/openbaocluster-finalizer" not in (cluster or {})["metadata"].get("finalizers", [])
        assert await _written_by_operator(client, namespace) == []
        events = await client.list(kube.resource_type("events.k8s.io/v1", "Event"), namespace=namespace)
        assert events.items == [], "the operator may not write Events where it was not invited"

        onboard(control_plane, namespace)
        done = await eventually(lambda: converged(client, "lone", namespace), what="converged", within=60)
        assert condition(done, "TenantOnboarded") == {}, "the condition goes once the namespace is onboarded"
        assert "openbao.org/openbaocluster-finalizer" in done["metadata"]["finalizers"]
        assert "StatefulSet/lone" in await _written_by_operator(client, namespace)
        tenant = await _tenant(client, "openbao", namespace)
        assert (tenant or {}).get("status", {}).get("provisioned") is True
        assert condition(tenant, "Provisioned")["status"] == "True"
        binding = await client.get(kinds.ROLEBINDING, "openbao-operator-tenant", namespace=namespace)
        assert binding["roleRef"]["name"] == "openbao-operator-tenant"
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "openbao-operator", "namespace": operator_namespace}
        ]


async def test_a_tenant_naming_a_neighbour_is_refused(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str, operator_namespace: str, kube: AsyncClient
) -> None:
    neighbour = f"t-{uuid.uuid4().hex[:10]}"
    await kube.create(Namespace(metadata=ObjectMeta(name=neighbour)))
    client = kube_clients(field_manager="test-user")
    try:
        async with running_operator(control_plane, operator_namespace, cluster_wide=True):
            await client.apply(tenant_manifest(neighbour, namespace=namespace, name="grab"))
            await client.apply(cluster_manifest("victim", neighbour, replicas=1))

            async def refused() -> dict[str, Any] | None:
                obj = await _tenant(client, "grab", namespace)
                return obj if condition(obj, "Provisioned").get("reason") == "CrossNamespaceTarget" else None

            tenant = await eventually(refused, what="the tenant refused", within=30)
            assert tenant["status"]["provisioned"] is False
            assert f"may onboard only {namespace} itself" in tenant["status"]["lastError"]
            assert not tenant["metadata"].get("finalizers")
            assert await get_or_none(client, kinds.ROLEBINDING, "openbao-operator-tenant", neighbour) is None

            async def told() -> bool:
                obj = await get_or_none(client, kinds.CLUSTER, "victim", neighbour)
                return condition(obj, "TenantOnboarded").get("status") == "False"

            await eventually(told, what="the neighbour's cluster told to opt in", within=30)
            assert await _written_by_operator(client, neighbour) == []
    finally:
        await kube.delete(Namespace, neighbour)


async def test_central_tenant_onboards_and_offboards_after_its_clusters_are_gone(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str, operator_namespace: str
) -> None:
    """A tenant in the operator's namespace onboards another namespace; deleting it waits for the clusters
    there (their deletion policy needs the operator's rights), then takes the binding away."""
    client = kube_clients(field_manager="test-user")
    async with running_operator(control_plane, operator_namespace, cluster_wide=True):
        onboard(control_plane, namespace, namespace=operator_namespace)
        await client.apply(cluster_manifest("kept", namespace, replicas=1))
        await eventually(lambda: converged(client, "kept", namespace), what="converged", within=60)

        await client.delete(kinds.TENANT, "openbao", namespace=operator_namespace)

        async def waiting() -> dict[str, Any] | None:
            obj = await _tenant(client, "openbao", operator_namespace)
            return obj if condition(obj, "Provisioned").get("reason") == "WaitingForClusters" else None

        tenant = await eventually(waiting, what="the tenant waits for the cluster", within=30)
        assert "kept" in condition(tenant, "Provisioned")["message"]
        assert await get_or_none(client, kinds.ROLEBINDING, "openbao-operator-tenant", namespace) is not None

        await client.delete(kinds.CLUSTER, "kept", namespace=namespace)

        async def offboarded() -> bool:
            gone = await _tenant(client, "openbao", operator_namespace) is None
            binding = await get_or_none(client, kinds.ROLEBINDING, "openbao-operator-tenant", namespace)
            cluster = await get_or_none(client, kinds.CLUSTER, "kept", namespace)
            return gone and binding is None and cluster is None

        await eventually(offboarded, what="cluster finalized, then binding and tenant gone", within=60)
        # the operator can no longer read there: the next cluster is told how to opt in again
        await client.apply(cluster_manifest("later", namespace, replicas=1))

        async def told() -> bool:
            obj = await get_or_none(client, kinds.CLUSTER, "later", namespace)
            return condition(obj, "TenantOnboarded").get("status") == "False"

        await eventually(told, what="the namespace is no longer onboarded", within=30)


async def test_a_binding_made_by_an_administrator_is_adopted_and_a_foreign_one_reported(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str, operator_namespace: str, kube: AsyncClient
) -> None:
    """The stricter install (no tenancy rights for the operator): an administrator creates the binding next
    to the tenant, and the operator reports the tenant provisioned without writing one. A binding of that
    name to another role is never overwritten."""
    other = f"t-{uuid.uuid4().hex[:10]}"
    await kube.create(Namespace(metadata=ObjectMeta(name=other)))
    client = kube_clients(field_manager="test-admin")
    rbac = "rbac.authorization.k8s.io"
    try:
        async with running_operator(control_plane, operator_namespace, cluster_wide=True):
            subject = {"kind": "ServiceAccount", "name": "openbao-operator", "namespace": operator_namespace}
            await client.apply(
                {
                    "apiVersion": f"{rbac}/v1",
                    "kind": "RoleBinding",
                    "metadata": {"name": "openbao-operator-tenant", "namespace": namespace},
                    "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "openbao-operator-tenant"},
                    "subjects": [subject],
                }
            )
            await client.apply(
                {
                    "apiVersion": f"{rbac}/v1",
                    "kind": "RoleBinding",
                    "metadata": {"name": "openbao-operator-tenant", "namespace": other},
                    "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "view"},
                    "subjects": [subject],
                }
            )
            onboard(control_plane, namespace)
            onboard(control_plane, other)

            async def reason(ns: str) -> str:
                return str(condition(await _tenant(client, "openbao", ns), "Provisioned").get("reason") or "")

            await eventually(lambda: _is(reason(namespace), "Provisioned"), what="adopted", within=30)
            await eventually(lambda: _is(reason(other), "ForeignObject"), what="foreign reported", within=30)
            kept = await client.get(kinds.ROLEBINDING, "openbao-operator-tenant", namespace=other)
            assert kept["roleRef"]["name"] == "view"
            await client.apply(cluster_manifest("adopted", namespace, replicas=1))
            await eventually(lambda: converged(client, "adopted", namespace), what="converged", within=60)
    finally:
        await kube.delete(Namespace, other)


async def _is(value: Any, want: str) -> bool:
    return bool(await value == want)


async def test_many_onboarded_namespaces_leave_room_for_every_other_request(
    control_plane: ControlPlane,
    kube: AsyncClient,
    kube_clients: KubeClients,
    namespace: str,
    operator_namespace: str,
) -> None:
    """Thirteen onboarded namespaces are 143 watches (eleven kinds each), each holding its connection: more
    than one HTTP pool of 100 connections. In one pool with the requests, every request of every reconcile
    then failed with a pool timeout and nothing converged; watches have a pool of their own now."""
    client = kube_clients(field_manager="test-user")
    others = [f"{namespace}-m{i:02d}" for i in range(12)]
    for name in others:
        await kube.create(Namespace(metadata=ObjectMeta(name=name)))
    try:
        tenants = (*others, namespace)
        async with running_operator(control_plane, operator_namespace, cluster_wide=True, tenants=tenants) as op:
            await client.apply(cluster_manifest("crowded", namespace, replicas=1))
            await eventually(lambda: converged(client, "crowded", namespace), what="converged", within=60)
            transport = op.client._generic._client._transport  # the operator's SplitTransport (kube/transport.py)
            assert isinstance(transport, SplitTransport)
            assert isinstance(transport.watches, httpx2.AsyncHTTPTransport)
            watches = len(transport.watches._pool.connections)
            assert watches > 100, f"only {watches} watches open: the case under test is more than a pool of 100"
    finally:
        for name in others:
            await kube.delete(Namespace, name)
