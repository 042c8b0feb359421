"""What the informer caches keep of each kind: only what a reconcile reads, in compact form.

Why: memory grows with every cached object, and at a thousand clusters the caches are most of the
operator's memory. A decoded object costs several times its JSON size as Python dicts and strings, yet a
reconcile reads each child once per pass. So:

- Pods are never applied, only read for their labels (OpenBao's service registration), ownership,
  phase, IP and Ready condition (bootstrap and rollout): a cached pod keeps just that.
- Every other object is cached *compact*: the metadata the event handlers look at (name, namespace,
  labels, annotations, ownerReferences, finalizers, generation, resourceVersion, uid, deletionTimestamp)
  as a dict, and the whole object (minus ``managedFields``, which no reconcile reads) as compressed JSON
  under :data:`RAW`. :func:`expand` restores the full object when the reconcile reads it (the
  :class:`~.sources.Reader` does that); decoding the few objects of one cluster costs well under a
  millisecond.
"""

from __future__ import annotations

import json
import sys
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from openbao_operator.kube import Manifest, ResourceType

from .kinds import CLUSTER, POD

RAW = "_openbaoOperatorCompact"
"""Key of the compressed full object in a compact cache entry (never sent to the API server)."""

_POD_METADATA = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "labels",
    "ownerReferences",
    "deletionTimestamp",
    "creationTimestamp",
)
_CHILD_METADATA = ("name", "namespace", "uid", "resourceVersion", "labels", "ownerReferences", "deletionTimestamp")
"""What the child → owner mapping and label-filtered lists read."""
_OWNER_METADATA = (*_CHILD_METADATA, "generation", "annotations", "finalizers")
"""The cluster itself: what decides whether an update is worth a reconcile (``runtime.meaningful_update``)."""


def without_managed_fields(obj: Manifest) -> Manifest:
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return obj


def pod_summary(obj: Manifest) -> Manifest:
    """Labels, ownership, phase, and what bootstrap and rollout read: the pod IP and the Ready condition."""
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    kept: dict[str, Any] = {k: status[k] for k in ("phase", "podIP") if status.get(k)}
    ready = [c for c in status.get("conditions") or () if c.get("type") == "Ready"]
    if ready:
        kept["conditions"] = [{k: ready[0][k] for k in ("type", "status", "lastTransitionTime") if k in ready[0]}]
    restarts = [
        {"name": c.get("name"), "restartCount": c.get("restartCount")}
        for c in status.get("containerStatuses") or ()
        if c.get("restartCount")
    ]
    if restarts:  # the upgrade's health gate stops on a replaced pod that keeps crashing
        kept["containerStatuses"] = restarts
    return {
        "apiVersion": _shared(obj.get("apiVersion", "v1")),
        "kind": _shared(obj.get("kind", "Pod")),
        "metadata": _kept_metadata(meta, _POD_METADATA),
        "status": kept,
    }


def compact(obj: Manifest, *, keep: tuple[str, ...] = _CHILD_METADATA) -> Manifest:
    """The cache entry of an applied kind: handler-relevant metadata plus the compressed object."""
    full = without_managed_fields(obj)
    meta = full.get("metadata") or {}
    raw = zlib.compress(json.dumps(full, separators=(",", ":")).encode(), 1)
    return {
        "apiVersion": _shared(obj.get("apiVersion")),
        "kind": _shared(obj.get("kind")),
        "metadata": _kept_metadata(meta, keep),
        RAW: raw,
    }


def _kept_metadata(meta: Mapping[str, Any], keep: tuple[str, ...]) -> dict[str, Any]:
    """The metadata fields ``keep``, with what many objects repeat shared rather than copied.

    Why: at a thousand clusters the caches hold ten thousand such dicts. Their strings (label keys and values,
    namespaces, owner names) are interned, and the label sets and owner references themselves, which are the
    same on every child of a cluster, are one shared object per distinct value (cache entries are read-only)."""
    out: dict[str, Any] = {}
    for k in keep:
        if k not in meta:
            continue
        value = meta[k]
        if k == "labels" and isinstance(value, dict):
            value = _shared_value(tuple((_shared(lk), _shared(lv)) for lk, lv in value.items()), dict)
        elif k == "ownerReferences" and isinstance(value, list):
            if all(isinstance(ref, dict) for ref in value):
                refs = tuple(tuple((_shared(rk), _shared(rv)) for rk, rv in ref.items()) for ref in value)
                value = _shared_value(refs, _owner_references)
            else:
                value = list(value)
        elif k == "namespace":
            value = _shared(value)
        out[k] = value
    return out


def _owner_references(refs: tuple[tuple[tuple[str, Any], ...], ...]) -> list[dict[str, Any]]:
    return [dict(ref) for ref in refs]


_SHARED_VALUES: dict[Any, Any] = {}
_SHARED_LIMIT = 16384
"""Distinct label sets and owner reference lists kept for sharing (a few per cluster); emptied when full, after
which new entries are shared among themselves again (entries already cached keep what they hold)."""


def _shared_value(key: Any, build: Callable[[Any], Any]) -> Any:
    """One object per distinct ``key`` (a hashable form of the value), built by ``build(key)``."""
    try:
        found = _SHARED_VALUES.get(key)
    except TypeError:  # NB: an unhashable value (a label is always a string; a hostile object need not be)
        return build(key)
    if found is None:
        if len(_SHARED_VALUES) >= _SHARED_LIMIT:
            _SHARED_VALUES.clear()
        found = _SHARED_VALUES[key] = build(key)
    return found


def _shared(value: Any) -> Any:
    return sys.intern(value) if type(value) is str else value


def compact_owner(obj: Manifest) -> Manifest:
    return compact(obj, keep=_OWNER_METADATA)


def expand(obj: Manifest | None) -> Manifest | None:
    """The full object of a cache entry (entries that are not compact are returned as they are)."""
    if obj is None or RAW not in obj:
        return obj
    decoded: Any = json.loads(zlib.decompress(obj[RAW]))
    return dict(decoded)


def cache_transform(rt: ResourceType) -> Callable[[Manifest], Manifest]:
    """The transform an informer of ``rt`` applies before storing an object."""
    if rt == POD:
        return pod_summary
    return compact_owner if rt == CLUSTER else compact
