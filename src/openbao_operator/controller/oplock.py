"""Reading and writing ``status.operationLock`` of an OpenBaoCluster: the I/O half of controller/backup/lock.py.

Why its own writer, outside the status the cluster reconcile applies: two controllers take the lock (the
cluster's backup step and the OpenBaoRestore controller), so a write must fail when the cluster changed
since the writer looked, or two operations could both believe they hold it. The lock is therefore written
with a JSON merge patch that carries the cluster's ``resourceVersion`` (the API server refuses it with 409
Conflict when the object moved on), never with the server-side apply of the rest of the status: that apply
does not list ``operationLock``, so it neither owns nor removes it, and a stale apply cannot undo a lock.

The merge patch sends every field of the lock, unset ones as null, so no field of an earlier holder
survives in the new lock (a merge patch merges maps).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openbao_operator.api.status import OperationLockStatus
from openbao_operator.kube import Conflict, KubeClient, Manifest, ObjectKey

from .kinds import CLUSTER
from .sources import Reader

LOCK_FIELD = "operationLock"


class LockRaced(Exception):  # noqa: N818 - an event, named as one
    """The cluster changed between reading the lock and writing it: decide again from a fresh read."""


def live_lock(cluster: Mapping[str, Any]) -> OperationLockStatus | None:
    """The lock in a cluster object's status (None: free, or unreadable, which counts as free only for a
    stale-lock decision: an unreadable lock is not renewed, so it goes stale and is taken over)."""
    raw = (cluster.get("status") or {}).get(LOCK_FIELD)
    if not isinstance(raw, Mapping) or not raw.get("holder"):
        return None
    try:
        return OperationLockStatus.model_validate(raw)
    except ValueError:
        return None


async def write_lock(
    *, kube: KubeClient, reader: Reader, cluster: Manifest, lock: OperationLockStatus | None
) -> Manifest:
    """Set (``lock``) or clear (None) the lock of ``cluster`` as read; returns the cluster as written.

    Raises :class:`LockRaced` when the cluster's resourceVersion moved on since ``cluster`` was read.
    """
    meta = cluster["metadata"]
    key = ObjectKey(str(meta.get("namespace") or ""), str(meta["name"]))
    value = lock.model_dump(mode="json", by_alias=True) if lock is not None else None
    patch = {"metadata": {"resourceVersion": meta["resourceVersion"]}, "status": {LOCK_FIELD: value}}
    try:
        written = await kube.merge_patch(CLUSTER, key.name, patch, namespace=key.namespace, status=True)
    except Conflict as exc:
        raise LockRaced(f"the OpenBaoCluster {key.namespace}/{key.name} changed while its lock was written") from exc
    reader.wrote(CLUSTER, key, written)
    return written
