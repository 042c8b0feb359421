"""What the informer caches keep of each kind: only what a reconcile reads.

Why: memory grows with every cached object, and at a thousand clusters the caches are most of the
operator's memory. Objects the operator applies are kept whole (the diff compares desired with live on
every field we send) minus ``managedFields``, which no reconcile reads. Pods are never applied, only read
for their labels (OpenBao's service registration) and ownership, so a cached pod keeps its metadata and
phase only, a fraction of its size.
"""

from __future__ import annotations

from collections.abc import Callable

from openbao_operator.kube import Manifest, ResourceType

from .kinds import POD

_POD_METADATA = ("name", "namespace", "uid", "resourceVersion", "labels", "ownerReferences", "deletionTimestamp")


def without_managed_fields(obj: Manifest) -> Manifest:
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return obj


def pod_summary(obj: Manifest) -> Manifest:
    meta = obj.get("metadata") or {}
    phase = (obj.get("status") or {}).get("phase")
    return {
        "apiVersion": obj.get("apiVersion", "v1"),
        "kind": obj.get("kind", "Pod"),
        "metadata": {k: meta[k] for k in _POD_METADATA if k in meta},
        "status": {"phase": phase} if phase else {},
    }


def cache_transform(rt: ResourceType) -> Callable[[Manifest], Manifest]:
    """The transform an informer of ``rt`` applies before storing an object."""
    return pod_summary if rt == POD else without_managed_fields
