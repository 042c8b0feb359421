"""The informer's cache: the last known version of every watched object, keyed by (namespace, name).

Why a plain dict: reads (the controller's "observe" step) are synchronous lookups, never API calls, which
is what makes a steady-state reconcile cost zero requests.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping
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

    def get(self, key: ObjectKey) -> Manifest | None:
        return self._items.get(key)

    def list(self, *, namespace: str | None = None, labels: Mapping[str, str] | None = None) -> builtins.list[Manifest]:
        """Objects in ``namespace`` (all when None) whose labels include every pair of ``labels``."""
        out = []
        for key, obj in self._items.items():
            if namespace is not None and key.namespace != namespace:
                continue
            if labels and any(_labels(obj).get(k) != v for k, v in labels.items()):
                continue
            out.append(obj)
        return out

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
        return old

    def delete(self, obj: Manifest) -> Manifest | None:
        """Forget ``obj``; return the version that was stored."""
        return self._items.pop(ObjectKey.of(obj), None)

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
        return changes
