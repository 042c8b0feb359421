"""status.operationLock against the real API server, and a backup that cannot start (issue 18).

The lock has one writer (controller/oplock.py): a merge patch carrying the cluster's resourceVersion, so of
two controllers that read the same cluster only the first takes it; and the reconcile's own status apply
never lists the field, so a pass that writes status (even a paused one) neither removes nor rewinds it.
Pods are kwok's; OpenBao's service registration is played by labelling pod-0 initialized.
"""

from __future__ import annotations

from typing import Any

import pytest

from openbao_operator import kube
from openbao_operator.controller import kinds
from openbao_operator.controller.backup.lock import make_lock
from openbao_operator.controller.backup.plan import TRIGGER_ANNOTATION
from openbao_operator.controller.oplock import LockRaced, live_lock, write_lock
from openbao_operator.controller.sources import Reader
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
STAMP = "2026-12-03T10:00:00Z"
LOCK = make_lock(operation="Restore", holder="restore/by-hand", message="held", acquired_at=STAMP, renewed_at=STAMP)


async def test_a_lock_written_from_a_stale_read_is_refused(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    client = kube_clients(field_manager="test-user")
    reader = Reader(client, caches={})
    await client.apply(cluster_manifest("lk", namespace, replicas=1))
    first_read = await client.get(kinds.CLUSTER, "lk", namespace=namespace)
    second_read = await client.get(kinds.CLUSTER, "lk", namespace=namespace)
    written = await write_lock(kube=client, reader=reader, cluster=first_read, lock=LOCK)
    assert live_lock(written) == LOCK
    other = make_lock(operation="Backup", holder="backup/a-job", message="another", acquired_at="2026-12-03T10:00:01Z")
    with pytest.raises(LockRaced):
        await write_lock(kube=client, reader=reader, cluster=second_read, lock=other)
    assert live_lock(await client.get(kinds.CLUSTER, "lk", namespace=namespace)) == LOCK
    # a merge patch replaces every field: nothing of the earlier holder survives a new lock
    fresh = await client.get(kinds.CLUSTER, "lk", namespace=namespace)
    written = await write_lock(kube=client, reader=reader, cluster=fresh, lock=other)
    assert (written["status"]["operationLock"]).get("renewedAt") is None
    assert live_lock(written) == other
    cleared = await write_lock(kube=client, reader=reader, cluster=written, lock=None)
    assert "operationLock" not in cleared.get("status", {})


async def test_status_writes_of_the_reconcile_leave_the_lock_alone(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    client = kube_clients(field_manager="test-user")
    reader = Reader(client, caches={})
    async with running_operator(control_plane, namespace, resync_seconds=5):
        await client.apply(cluster_manifest("keep", namespace, replicas=1))
        await eventually(lambda: converged(client, "keep", namespace), what="converged", within=60)

        async def locked() -> bool:
            # NB: the operator may still write status (a later condition) between our read and our write
            try:
                fresh = await client.get(kinds.CLUSTER, "keep", namespace=namespace)
                await write_lock(kube=client, reader=reader, cluster=fresh, lock=LOCK)
            except LockRaced:
                return False
            return True

        await eventually(locked, what="the lock written", within=30, interval=0.2)
        # a spec change makes the reconcile write status (observedGeneration), then pausing writes the paused one
        for change in ({"configuration": {"logLevel": "debug"}}, {"paused": True}):
            await client.merge_patch(kinds.CLUSTER, "keep", {"spec": change}, namespace=namespace)
            after = await eventually(lambda: converged(client, "keep", namespace), what="status written", within=60)
            assert live_lock(after) == LOCK, change


async def test_a_due_backup_without_an_executor_image_is_misconfigured_and_locks_nothing(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    client = kube_clients(field_manager="test-user")
    backup = {
        "schedule": "0 0 1 1 *",
        "jwtAuthRole": "my-role",
        "target": {"provider": "s3", "bucket": "b", "endpoint": "http://127.0.0.1:9", "usePathStyle": True},
    }
    doc = cluster_manifest("mis", namespace, replicas=1, backup=backup)
    doc["metadata"]["annotations"] = {TRIGGER_ANNOTATION: "now"}
    async with running_operator(control_plane, namespace, resync_seconds=5, executor_image=""):
        await client.apply(doc)
        await eventually(lambda: converged(client, "mis", namespace), what="converged", within=60)
        await eventually(lambda: get_or_none(client, kinds.POD, "mis-0", namespace), what="pod-0", within=60)
        await mark_initialized(client, "mis", namespace)

        async def misconfigured() -> dict[str, Any] | None:
            obj = await client.get(kinds.CLUSTER, "mis", namespace=namespace)
            healthy = condition(obj, "BackupHealthy")
            return obj if healthy.get("reason") == "BackupMisconfigured" else None

        obj = await eventually(misconfigured, what="BackupMisconfigured", within=90, interval=0.5)
        healthy = condition(obj, "BackupHealthy")
        assert healthy["status"] == "False"
        assert "spec.backup.image" in healthy["message"]
        assert condition(obj, "BackingUp")["reason"] == "BackupMisconfigured"
        assert live_lock(obj) is None
        assert not (obj.get("status") or {}).get("backup", {}).get("jobName")
        jobs = await client.list(kinds.JOB, namespace=namespace)
        assert jobs.items == []
        events = (await client.list(EVENT, namespace=namespace)).items
        assert any(e.get("reason") == "BackupMisconfigured" for e in events)
