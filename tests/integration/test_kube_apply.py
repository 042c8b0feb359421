"""The kube layer against the real API server: SSA apply, the zero-write second pass, field ownership,
errors with their meaning, deletes with preconditions, and least privilege.

The zero-writes invariant is proven by counting every request the client sends (a counting wrapper
around the real TLS transport), not by trusting the diff's own verdict.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from openbao_operator import kube
from tests.integration.kubehelp import KubeClients, configmap, eventually

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

STS = kube.resource_type("apps/v1", "StatefulSet")
CM = kube.resource_type("v1", "ConfigMap")


def workload(namespace: str) -> list[dict[str, Any]]:
    """Objects shaped like what the renderer produces, with the spellings the server rewrites."""
    labels = {"app.kubernetes.io/name": "demo", "app.kubernetes.io/instance": "x"}
    return [
        configmap(namespace, "x-config", {"config.hcl": "ui = true\n"}, labels=labels),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "x-secret", "namespace": namespace, "labels": labels},
            "type": "Opaque",
            "stringData": {"token": "not-really-secret"},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "x", "namespace": namespace, "labels": labels},
            "spec": {
                "selector": labels,
                "ports": [{"name": "api", "port": 8200, "targetPort": 8200}, {"name": "cluster", "port": 8201}],
                "publishNotReadyAddresses": True,
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "x-pdb", "namespace": namespace, "labels": labels},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "x", "namespace": namespace, "labels": labels},
            "spec": {
                "replicas": 3,
                "serviceName": "x",
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels, "annotations": {}},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "containers": [
                            {
                                "name": "bao",
                                "image": "registry.invalid/openbao:2.7.2",
                                "ports": [{"name": "api", "containerPort": 8200}],
                                "resources": {
                                    "requests": {"cpu": "0.25", "memory": "256Mi"},
                                    "limits": {"cpu": "1000m", "memory": "1024Mi"},
                                },
                                "volumeMounts": [{"name": "data", "mountPath": "/bao/data", "readOnly": False}],
                                "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False},
                            }
                        ],
                        "volumes": [],
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1024Mi"}}},
                    }
                ],
            },
        },
    ]


async def _live(client: kube.KubeClient, obj: dict[str, Any]) -> dict[str, Any]:
    key = kube.ObjectKey.of(obj)
    return await client.get(kube.resource_of(obj), key.name, namespace=key.namespace)


async def test_second_pass_sends_no_writes(kube_clients: KubeClients, namespace: str) -> None:
    counter = kube.RequestCounter()
    client = kube_clients(counter)
    applier = kube.Applier(client)
    first = [await applier.ensure(obj, None) for obj in workload(namespace)]
    assert all(r.written and r.reason == "absent" for r in first)
    assert counter.writes == len(first)

    lives = [await _live(client, obj) for obj in workload(namespace)]
    counter.reset()
    second = [await applier.ensure(obj, live) for obj, live in zip(workload(namespace), lives, strict=True)]
    assert [r.reason for r in second] == ["in sync"] * len(second)
    assert counter.total == 0, counter.log

    # The server really did rewrite what we sent; the diff tolerated it rather than never seeing it.
    sts = lives[-1]
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"]["cpu"] == "250m"
    assert container["resources"]["limits"]["memory"] == "1Gi"
    assert "stringData" not in lives[1]


async def test_drift_is_restored_and_foreign_fields_survive(kube_clients: KubeClients, namespace: str) -> None:
    counter = kube.RequestCounter()
    client = kube_clients(counter)
    other = kube_clients(field_manager="someone-else")
    applier = kube.Applier(client)
    desired = workload(namespace)[-1]
    await applier.ensure(desired, None)
    # A person scales it by hand (an owned field) and another tool adds its own annotation and label.
    await other.merge_patch(STS, "x", {"spec": {"replicas": 1}}, namespace=namespace)
    await other.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "x", "namespace": namespace, "annotations": {"gitops/synced": "yes"}},
        },
        force=False,
    )
    counter.reset()
    result = await applier.ensure(desired, await _live(client, desired))
    assert result.written
    assert result.reason == "drift: spec.replicas"
    live = await _live(client, desired)
    assert live["spec"]["replicas"] == 3
    assert live["metadata"]["annotations"]["gitops/synced"] == "yes"
    counter.reset()
    assert not (await applier.ensure(desired, live)).written
    assert counter.writes == 0


async def test_fields_we_stop_sending_are_removed(kube_clients: KubeClients, namespace: str) -> None:
    client = kube_clients()
    applier = kube.Applier(client)
    with_label = configmap(namespace, "c", {"a": "1", "b": "2"}, labels={"tier": "db"})
    without = configmap(namespace, "c", {"a": "1"})
    await applier.ensure(with_label, None)
    live = await _live(client, with_label)
    result = await applier.ensure(without, live)
    assert result.written
    assert kube.APPLIED_HASH_ANNOTATION in result.reason
    live = await _live(client, without)
    assert "tier" not in (live["metadata"].get("labels") or {})
    assert live["data"] == {"a": "1"}
    assert not (await applier.ensure(without, live)).written


async def test_conflict_between_field_managers(kube_clients: KubeClients, namespace: str) -> None:
    ours = kube_clients()
    theirs = kube_clients(field_manager="helm")
    await theirs.apply(configmap(namespace, "shared", {"owner": "helm"}))
    with pytest.raises(kube.Conflict) as caught:
        await ours.apply(configmap(namespace, "shared", {"owner": "us"}), force=False)
    assert caught.value.code == 409
    assert any(".data.owner" in c.field or "owner" in c.message for c in caught.value.causes), caught.value
    taken = await ours.apply(configmap(namespace, "shared", {"owner": "us"}), force=True)
    assert taken["data"]["owner"] == "us"
    managers = {m["manager"] for m in taken["metadata"]["managedFields"]}
    assert kube.FIELD_MANAGER in managers


async def test_errors_mean_what_they_say(kube_clients: KubeClients, namespace: str) -> None:
    client = kube_clients()
    with pytest.raises(kube.NotFound):
        await client.get(CM, "nope", namespace=namespace)
    created = await client.create(configmap(namespace, "once", {}))
    with pytest.raises(kube.AlreadyExists):
        await client.create(configmap(namespace, "once", {}))
    bad = copy.deepcopy(workload(namespace)[-1])
    bad["spec"]["replicas"] = -1
    with pytest.raises(kube.Invalid) as invalid:
        await client.apply(bad)
    assert "spec.replicas" in invalid.value.fields
    with pytest.raises(kube.Invalid):  # an unknown field never silently disappears (fieldValidation=Strict)
        await client.apply({**configmap(namespace, "typo", {}), "dta": {"a": "1"}})
    stale = {**created, "data": {"x": "1"}}
    await client.replace(stale)
    with pytest.raises(kube.Conflict):
        await client.replace({**created, "data": {"x": "2"}})  # still carries the old resourceVersion
    with pytest.raises(kube.Conflict):
        await client.delete(CM, "once", namespace=namespace, preconditions=kube.Preconditions(uid="not-its-uid"))
    await client.delete(
        CM, "once", namespace=namespace, preconditions=kube.Preconditions(uid=created["metadata"]["uid"])
    )
    with pytest.raises(kube.NotFound):
        await client.delete(CM, "once", namespace=namespace)


async def test_delete_orphans_dependents_when_asked(kube_clients: KubeClients, namespace: str) -> None:
    client = kube_clients()
    owner = await client.create(configmap(namespace, "owner", {}))
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
    await client.create(configmap(namespace, "dependent", {}, ownerReferences=[ref]))
    await client.delete(CM, "owner", namespace=namespace, propagation="Orphan")

    async def orphaned() -> bool:
        dependent = await client.get(CM, "dependent", namespace=namespace)
        return not dependent["metadata"].get("ownerReferences")

    await eventually(orphaned, what="the garbage collector orphaning the dependent")


GADGET = kube.register(kube.ResourceType("kube-tests.example.org", "v1", "Gadget", "gadgets", namespaced=True))


def gadget_crd() -> dict[str, Any]:
    """A small CRD of our own (not OpenBaoCluster's: the shared session's CRD tests own that one)."""
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"size": {"x-kubernetes-int-or-string": True}, "memory": {"type": "string"}},
            },
            "status": {
                "type": "object",
                "properties": {
                    "phase": {"type": "string"},
                    "observedGeneration": {"type": "integer"},
                    "conditions": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["type"],
                        "items": {
                            "type": "object",
                            "required": ["type", "status"],
                            "properties": {"type": {"type": "string"}, "status": {"type": "string"}},
                        },
                    },
                },
            },
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{GADGET.plural}.{GADGET.group}"},
        "spec": {
            "group": GADGET.group,
            "scope": "Namespaced",
            "names": {"plural": GADGET.plural, "singular": "gadget", "kind": GADGET.kind},
            "versions": [
                {
                    "name": GADGET.version,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


async def test_custom_resource_apply_and_status(kube_clients: KubeClients, namespace: str) -> None:
    counter = kube.RequestCounter()
    client = kube_clients(counter)
    crd_rt = kube.resource_type("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    definition = await client.apply(gadget_crd())

    async def established() -> bool:
        live = await client.get(crd_rt, definition["metadata"]["name"])
        conditions = (live.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    await eventually(established, what="the CRD to be established")
    gadget = {
        "apiVersion": GADGET.api_version,
        "kind": GADGET.kind,
        "metadata": {"name": "g", "namespace": namespace},
        "spec": {"size": 3, "memory": "1Gi"},
    }
    applier = kube.Applier(client)
    assert (await applier.ensure(gadget, None)).written
    status = {
        **gadget,
        "status": {"phase": "Ready", "observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]},
    }
    first = await client.apply_status(status, force=True)  # as the reconciler writes a cluster's status
    assert first["status"]["phase"] == "Ready"
    assert first["metadata"]["generation"] == 1, "a status write does not bump the generation"
    counter.reset()
    assert not (await applier.ensure(gadget, first)).written
    assert counter.total == 0
    listed = await client.list(GADGET, namespace=namespace)
    assert [g["metadata"]["name"] for g in listed.items] == ["g"]
    assert listed.items[0]["kind"] == "Gadget"


async def test_least_privilege_is_forbidden_not_missing(
    kube_clients: KubeClients, namespace: str, sa_kubeconfig: Any
) -> None:
    client = kube_clients()
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "nobody", "namespace": namespace}}
    await client.create(sa)
    nobody = kube.connect(sa_kubeconfig(namespace=namespace, name="nobody"))
    try:
        with pytest.raises(kube.Forbidden):
            await nobody.list(CM, namespace=namespace)
        with pytest.raises(kube.Forbidden):
            await nobody.apply(configmap(namespace, "x", {}))
    finally:
        await nobody.close()
