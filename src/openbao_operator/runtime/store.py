"""The informer's cache: the last known version of every watched object, keyed by (namespace, name).

Why a plain dict: reads (the controller's "observe" step) are synchronous lookups, never API calls, which
is what makes a steady-state reconcile cost zero requests.

Lists by label (every pass lists its cluster's children of each kind by the cluster's label) go through an
index per label key that some list asked for, built on that first list and kept up to date by every write:
scanning the store instead made a pass cost grow with the number of clusters in the namespace (a thousand
clusters, ten kinds: ten thousand objects looked at per pass; issue 20).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from openbao_operator.kube import Manifest, ObjectKey


def _labels(obj: Manifest) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _version(obj: Manifest) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


@dataclass
class Changes:
    """What a relist changed: (old, new) pairs for updates, objects for adds and deletes."""

    added: list[Manifest] = field(default_factory=list)
    updated: list[tuple[Manifest, Manifest]] = field(default_factory=list)
    deleted: list[Manifest] = field(default_factory=list)


class Store:
    """Objects by key. Callers must treat returned objects as read-only (they are shared, not copied)."""

    def __init__(self) -> None:
        self._items: dict[ObjectKey, Manifest] = {}
        self._index: dict[str, dict[str, dict[ObjectKey, None]]] = {}
        """label key -> label value -> the keys of the objects carrying it (insertion-ordered, as ``_items``)."""

    def get(self, key: ObjectKey) -> Manifest | None:
        return self._items.get(key)

    def list(self, *, namespace: str | None = None, labels: Mapping[str, str] | None = None) -> builtins.list[Manifest]:
        """Objects in ``namespace`` (all when None) whose labels include every pair of ``labels``."""
        if labels:
            buckets: builtins.list[dict[ObjectKey, None]] = [self._indexed(k).get(v, {}) for k, v in labels.items()]
            smallest = min(buckets, key=len)
            keys: Iterable[ObjectKey] = smallest
        else:
            keys = self._items
        out = []
        for key in keys:
            if namespace is not None and key.namespace != namespace:
                continue
            obj = self._items[key]
            if labels and any(_labels(obj).get(k) != v for k, v in labels.items()):
                continue
            out.append(obj)
        return out

    def _indexed(self, label: str) -> dict[str, dict[ObjectKey, None]]:
        index = self._index.get(label)
        if index is None:
            index = self._index[label] = {}
            for key, obj in self._items.items():
                value = _labels(obj).get(label)
                if value is not None:
                    index.setdefault(value, {})[key] = None
        return index

    def _reindex(self, key: ObjectKey, old: Manifest | None, new: Manifest | None) -> None:
        """Move ``key`` between the index's buckets from ``old``'s labels to ``new``'s (None: absent)."""
        if not self._index:
            return
        before = _labels(old) if old is not None else {}
        after = _labels(new) if new is not None else {}
        for label, index in self._index.items():
            was, now = before.get(label), after.get(label)
            if was == now:
                continue
            if was is not None:
                bucket = index.get(was)
                if bucket is not None:
                    bucket.pop(key, None)
                    if not bucket:
                        del index[was]
            if now is not None:
                index.setdefault(now, {})[key] = None

    def object_keys(self) -> builtins.list[ObjectKey]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Manifest]:
        return iter(list(self._items.values()))

    def upsert(self, obj: Manifest) -> Manifest | None:
        """Store ``obj``; return the version it replaced."""
        key = ObjectKey.of(obj)
        old = self._items.get(key)
        self._items[key] = obj
        self._reindex(key, old, obj)
        return old

    def delete(self, obj: Manifest) -> Manifest | None:
        """Forget ``obj``; return the version that was stored."""
        key = ObjectKey.of(obj)
        old = self._items.pop(key, None)
        self._reindex(key, old, None)
        return old

    def replace(self, items: builtins.list[Manifest]) -> Changes:
        """Make the store hold exactly ``items`` (a fresh LIST); report what changed."""
        changes = Changes()
        fresh = {ObjectKey.of(obj): obj for obj in items}
        for key, old in self._items.items():
            if key not in fresh:
                changes.deleted.append(old)
        for key, obj in fresh.items():
            previous = self._items.get(key)
            if previous is None:
                changes.added.append(obj)
            elif _version(previous) != _version(obj):
                changes.updated.append((previous, obj))
        self._items = fresh
        labels = list(self._index)
        self._index = {}
        for label in labels:
            self._indexed(label)
        return changes
