"""Version changes the operator refuses, through the running operator (kwok pods; no OpenBao needed):

- an initialized cluster gets ``status.currentVersion`` once its pods run the rendered version;
- a lower ``spec.version`` is refused: the StatefulSet keeps the running version's image and
  ``openbao.org/version``, no pod is replaced, ``Upgrading=False/DowngradeRefused`` and ``Degraded`` say how to
  consent, and a Warning Event says it once;
- the annotation ``openbao.org/allow-downgrade-to`` naming exactly that version lets it through: an upgrade record
  (``status.upgrade``) towards the lower version starts, under the ``Upgrade`` operation lock, and the template
  moves (the health gate then waits for OpenBao, which kwok pods do not run).
"""

from __future__ import annotations

from typing import Any

import pytest

from openbao_operator import kube
from openbao_operator.controller import kinds
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


async def _running(client: kube.KubeClient, name: str, namespace: str) -> bool:
    pod = await get_or_none(client, kinds.POD, name, namespace)
    return bool(pod and (pod.get("status") or {}).get("phase") == "Running")


def _image(sts: dict[str, Any]) -> str:
    return str(sts["spec"]["template"]["spec"]["containers"][0]["image"])


async def test_a_downgrade_is_refused_until_the_annotation_names_it(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    client = kube_clients(field_manager="test-user")
    name = "down"
    async with running_operator(control_plane, namespace):
        await client.apply(cluster_manifest(name, namespace, replicas=1, version="2.7.2"))
        await eventually(lambda: converged(client, name, namespace), what="converged", within=60)
        await eventually(lambda: _running(client, f"{name}-0", namespace), what="pod-0 running", within=60)
        await mark_initialized(client, name, namespace)

        async def versioned() -> dict[str, Any] | None:
            obj = await client.get(kinds.CLUSTER, name, namespace=namespace)
            return obj if (obj.get("status") or {}).get("currentVersion") == "2.7.2" else None

        await eventually(versioned, what="status.currentVersion 2.7.2", within=60)
        pod_uid = (await client.get(kinds.POD, f"{name}-0", namespace=namespace))["metadata"]["uid"]
        before = await client.get(kinds.STATEFULSET, name, namespace=namespace)

        await client.apply(cluster_manifest(name, namespace, replicas=1, version="2.6.2"))

        async def refused() -> dict[str, Any] | None:
            obj = await converged(client, name, namespace)
            return obj if obj is not None and condition(obj, "Upgrading").get("reason") == "DowngradeRefused" else None

        obj = await eventually(refused, what="Upgrading=False/DowngradeRefused", within=60)
        message = condition(obj, "Upgrading")["message"]
        assert condition(obj, "Upgrading")["status"] == "False"
        assert "openbao.org/allow-downgrade-to=2.6.2" in message, message
        assert condition(obj, "Degraded").get("reason") == "DowngradeRefused"
        assert obj["status"]["currentVersion"] == "2.7.2"
        assert "upgrade" not in obj["status"]
        sts = await client.get(kinds.STATEFULSET, name, namespace=namespace)
        assert _image(sts) == _image(before)
        assert _image(sts).endswith(":2.7.2")
        assert sts["metadata"]["annotations"]["openbao.org/version"] == "2.7.2"
        pod = await get_or_none(client, kinds.POD, f"{name}-0", namespace)
        assert pod is not None
        assert pod["metadata"]["uid"] == pod_uid, "a refused downgrade replaced a pod"
        events = [
            e for e in (await client.list(EVENT, namespace=namespace)).items if e.get("reason") == "DowngradeRefused"
        ]
        assert len(events) == 1, events
        assert events[0]["type"] == "Warning"

        # the consent names exactly that version
        patch = {"metadata": {"annotations": {"openbao.org/allow-downgrade-to": "2.6.2"}}}
        await client.merge_patch(kinds.CLUSTER, name, patch, namespace=namespace)

        async def downgrading() -> dict[str, Any] | None:
            obj = await client.get(kinds.CLUSTER, name, namespace=namespace)
            up = (obj.get("status") or {}).get("upgrade") or {}
            return obj if up.get("phase") == "Rolling" else None

        obj = await eventually(downgrading, what="a downgrade in progress", within=60)
        up = obj["status"]["upgrade"]
        assert (up["fromVersion"], up["targetVersion"]) == ("2.7.2", "2.6.2")
        assert up["fromImage"] == _image(before)
        assert obj["status"]["operationLock"]["operation"] == "Upgrade"
        assert obj["status"]["currentVersion"] == "2.7.2", "currentVersion moved before any pod passed the gate"

        async def moved() -> dict[str, Any] | None:
            sts = await client.get(kinds.STATEFULSET, name, namespace=namespace)
            return sts if _image(sts).endswith(":2.6.2") else None

        sts = await eventually(moved, what="the template at 2.6.2", within=30)
        assert sts["metadata"]["annotations"]["openbao.org/version"] == "2.6.2"
