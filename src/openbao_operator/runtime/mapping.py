"""From a watch event to the key of the object that must be reconciled.

Why: reconciles are per owner (one custom resource), but most events are about its children (a StatefulSet
rolled, a Service was edited). A child names its owner by its ``controller: true`` ownerReference or, for
objects that must not be owned (data that outlives the owner, PVCs made from claim templates), by a label
holding the owner's name. The owner's kind, group and label are parameters: this module knows no kind.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Protocol

from openbao_operator.kube import Manifest, ObjectKey

from .informer import Event, Handler


class Enqueuer(Protocol):
    def add(self, key: ObjectKey, /) -> None: ...


@dataclass(frozen=True)
class OwnerMapper:
    """Maps a child object to its owner's key, in the child's namespace."""

    owner_group: str
    owner_kind: str
    label: str | None = None

    def __call__(self, obj: Manifest) -> ObjectKey | None:
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        for ref in meta.get("ownerReferences") or ():
            group = str(ref.get("apiVersion", "")).rpartition("/")[0]
            if ref.get("controller") and ref.get("kind") == self.owner_kind and group == self.owner_group:
                return ObjectKey(namespace, str(ref["name"]))
        if self.label:
            value = (meta.get("labels") or {}).get(self.label)
            if value:
                return ObjectKey(namespace, str(value))
        return None


Predicate = Callable[[Event], bool]


def meaningful_update(event: Event) -> bool:
    """Creates and deletes always; updates only when spec (generation), deletion, finalizers, labels or
    annotations changed. Why: our own status writes would otherwise trigger a reconcile each."""
    if event.type != "MODIFIED" or event.old is None:
        return True
    old, new = event.old.get("metadata") or {}, event.object.get("metadata") or {}
    return any(
        old.get(f) != new.get(f) for f in ("generation", "deletionTimestamp", "finalizers", "labels", "annotations")
    )


def same_apart_from_version(event: Event) -> bool:
    """An update whose object, as the informer stores it, differs from the old one in its resourceVersion only.

    Why: an informer's transform may keep only what the controller reads (e.g. a pod's phase, address and
    readiness); an update that changed none of that (a pod scheduled, a kubelet heartbeat in its status) is
    no news to the controller.
    """
    if event.type != "MODIFIED" or event.old is None:
        return False
    old, new = event.old, event.object
    if old.keys() != new.keys():
        return False
    for name, value in new.items():
        if name != "metadata" and old[name] != value:
            return False
    old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
    if old_meta.keys() != new_meta.keys():
        return False
    return all(k == "resourceVersion" or old_meta[k] == v for k, v in new_meta.items())


def enqueue_self(queue: Enqueuer, *, predicate: Predicate | None = None) -> Handler:
    """Handler queueing the event's own object (for the owner kind's informer)."""

    def handle(event: Event) -> None:
        if predicate is None or predicate(event):
            queue.add(ObjectKey.of(event.object))

    return handle


def enqueue_owner(
    queue: Enqueuer, mapper: Callable[[Manifest], ObjectKey | None], *, predicate: Predicate | None = None
) -> Handler:
    """Handler queueing the owner of the event's object (and of its previous version, if the owner changed);
    with ``predicate``, only for the events it accepts."""

    def handle(event: Event) -> None:
        if predicate is not None and not predicate(event):
            return
        keys: set[Hashable] = set()
        for obj in (event.object, event.old):
            if obj is not None:
                key = mapper(obj)
                if key is not None and key not in keys:
                    keys.add(key)
                    queue.add(key)

    return handle


class Touched:
    """The keys that a watch event (or a resync of the scope) queued since their last pass began.

    Why: a pass that a timer brought (a requeue-after) and no event did may know that nothing it watches
    changed since its last full look; the controller may then do less (controller/waiting.py asks only pod-0
    while a cluster waits for it). Handlers queue through :meth:`marking`; a pass calls :meth:`take` once, at
    its start, so an event during the pass marks the key again for the pass the event brings.
    """

    def __init__(self) -> None:
        self._keys: set[Hashable] = set()

    def mark(self, key: Hashable) -> None:
        self._keys.add(key)

    def take(self, key: Hashable) -> bool:
        """Whether ``key`` was marked since the last ``take`` (and clear the mark)."""
        if key in self._keys:
            self._keys.discard(key)
            return True
        return False

    def marking(self, queue: Enqueuer) -> Enqueuer:
        """``queue`` as an enqueuer that marks each key it queues."""
        return _Marking(queue, self)


@dataclass(frozen=True)
class _Marking:
    queue: Enqueuer
    touched: Touched

    def add(self, key: ObjectKey, /) -> None:
        self.touched.mark(key)
        self.queue.add(key)
