"""Helpers for the controller's integration tests: the operator running as its own ServiceAccount with
deploy/ RBAC only, cluster manifests, and bounded waits on what the API server reports.

The in-process runner (:func:`running_operator`) counts every request the operator sends (so "zero
writes" can be measured); subprocess runs (SIGKILL, two replicas) use :func:`tests.peers.deploy.operator_process`.
"""

from __future__ import annotations

import asyncio
import copy
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from openbao_operator import kube
from openbao_operator.cli.operator import Operator, build
from openbao_operator.cli.settings import OperatorSettings
from openbao_operator.controller import kinds
from tests.integration.kubehelp import eventually
from tests.peers.controlplane import ControlPlane
from tests.peers.deploy import OperatorIdentity, install_crd, install_operator
from tests.peers.pins import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "cluster.yaml"
LEASES = "/leases"
EXECUTOR_IMAGE = "registry.invalid/openbao-operator:test"
"""Never pulled: the node agent runs the executor Jobs' ``openbao-operator`` from this venv (peers/nodeagent.py)."""


@pytest.fixture(scope="session")
def crd(control_plane: ControlPlane) -> None:
    """deploy/crd.yaml installed (once per session)."""
    install_crd(control_plane)
    return


def cluster_manifest(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    """examples/cluster.yaml under another name and namespace, with top-level spec fields replaced."""
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["metadata"] = {"name": name, "namespace": namespace}
    doc["spec"].update(copy.deepcopy(spec))
    return dict(doc)


def identity_for(control_plane: ControlPlane, namespace: str) -> OperatorIdentity:
    """The operator's ServiceAccount in the test namespace, with deploy/namespace-mode RBAC for that namespace."""
    return install_operator(control_plane, namespace=namespace, mode="namespace", watch=(namespace,), suffix=namespace)


def writes(counter: kube.RequestCounter) -> list[tuple[str, str]]:
    """Write requests other than the Lease heartbeat (the election's renewals are not reconcile writes)."""
    return [(m, p) for m, p in counter.log if m in kube.transport.WRITE_METHODS and LEASES not in p]


@asynccontextmanager
async def running_operator(
    control_plane: ControlPlane,
    namespace: str,
    *,
    counter: kube.RequestCounter | None = None,
    resync_seconds: float = 30.0,
    seed: int = 1,
    cluster_wide: bool = False,
    tenants: tuple[str, ...] = (),
    executor_image: str = EXECUTOR_IMAGE,
) -> AsyncIterator[Operator]:
    """The operator running in this event loop as its ServiceAccount, with deploy/ RBAC only.

    Namespace mode (default): its ServiceAccount lives in ``namespace`` and watches only that namespace
    (deploy/namespace-mode/rbac.yaml is that namespace's opt-in). ``cluster_wide``: its ServiceAccount
    lives in ``namespace`` with deploy/rbac-cluster.yaml, and ``tenants`` are onboarded with self-service
    OpenBaoTenants before it starts (the operator provisions them).
    """
    if cluster_wide:
        identity = install_operator(
            control_plane, namespace=namespace, mode="cluster", suffix=namespace, tenants=tenants
        )
    else:
        identity = identity_for(control_plane, namespace)
    settings = OperatorSettings(
        watch_namespace="" if cluster_wide else namespace,
        namespace=namespace,
        identity="test-operator",
        probe_address="127.0.0.1:0",
        resync_seconds=resync_seconds,
        api_server_cidr="127.0.0.1/32",
        lease_duration=6,
        renew_deadline=4,
        retry_period=1,
        workers=2,
        executor_image=executor_image,
    )
    client = kube.connect(identity.kubeconfig, wrap_transport=counter.wrap if counter is not None else None)
    operator = await build(settings, client=client, registry=CollectorRegistry(), rng=random.Random(seed))
    stop = asyncio.Event()
    task = asyncio.create_task(operator.run(stop))
    try:
        await eventually(lambda: _synced(operator, task), what="operator caches synced", within=20)
        yield operator
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 20)
        finally:
            if not task.done():
                task.cancel()


async def _synced(operator: Operator, task: asyncio.Task[None]) -> bool:
    if task.done():
        task.result()  # raise what killed it
    return all(i.synced.is_set() for i in operator.manager.informers)


def reconciles(operator: Operator) -> float:
    """Reconciles done so far (every result label)."""
    registry = operator.manager.metrics.registry
    total = 0.0
    for label in ("success", "requeue_after", "requeue", "error"):
        value = registry.get_sample_value(
            "controller_runtime_reconcile_total", {"controller": "openbaocluster", "result": label}
        )
        total += value or 0.0
    return total


async def get_or_none(
    client: kube.KubeClient, rt: kube.ResourceType, name: str, namespace: str
) -> dict[str, Any] | None:
    try:
        return await client.get(rt, name, namespace=namespace)
    except kube.NotFound:
        return None


def condition(cluster: dict[str, Any] | None, type_: str) -> dict[str, Any]:
    for cond in ((cluster or {}).get("status") or {}).get("conditions") or ():
        if cond.get("type") == type_:
            return dict(cond)
    return {}


async def converged(
    client: kube.KubeClient, name: str, namespace: str, *, available: bool = False
) -> dict[str, Any] | None:
    """The cluster once its status reflects its generation (and, if asked, Available=True)."""
    obj = await get_or_none(client, kinds.CLUSTER, name, namespace)
    if obj is None:
        return None
    status = obj.get("status") or {}
    if status.get("observedGeneration") != obj["metadata"].get("generation"):
        return None
    if condition(obj, "ConfigurationValid").get("status") != "True":
        return None
    if available and condition(obj, "Available").get("status") != "True":
        return None
    return obj


async def mark_initialized(client: kube.KubeClient, name: str, namespace: str) -> None:
    """Play OpenBao's service registration on pod-0 (kwok runs no OpenBao)."""
    patch = {"metadata": {"labels": {"openbao-initialized": "true"}}}
    await client.merge_patch(kinds.POD, f"{name}-0", patch, namespace=namespace)


def example_path() -> Path:
    return EXAMPLE
