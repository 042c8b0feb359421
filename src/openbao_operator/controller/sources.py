"""Where one reconcile reads the world from: informer caches, with direct GETs where nothing is cached.

Why a reader of its own:
- Least privilege decides what may be cached. In cluster-wide mode Secrets are never listed or watched
  (only ``get`` by name), so they are read with a GET on every pass; other kinds come from caches and a
  steady-state reconcile costs no request at all.
- Secrets of ours are remembered for a few seconds (``remember``): a new cluster's passes come seconds apart
  (its children's events, pod-0's first checks), and reading the same three Secrets in each of them was a
  third of its requests (issue 20). Only Secrets labelled as the operator's are remembered, a read or a
  write renews them, and a deletion by the operator forgets them; a change by anyone else is seen at the
  first pass after they expire (as a change of any unwatched Secret is seen only at the next pass anyway).
- A cache lags behind our own writes by one watch event. Reading our own stale write back would make
  the next pass write again (or, for certificates, issue new ones). So the reader remembers the object
  each write returned and serves it until the cache has moved past the version it held at write time:
  read-your-writes, nothing more. It is a cache aid, never a source of truth; a restart loses nothing.
"""

from __future__ import annotations

import builtins
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from openbao_operator.kube import KubeClient, Manifest, NotFound, ObjectKey, ResourceType

from .cache import cache_transform, compact, expand
from .kinds import MANAGED_BY_SELECTOR

SECRET_MEMORY_SECONDS = 10.0
"""How long the operator process remembers a Secret of its own that it read or wrote (see above)."""


class Cache(Protocol):
    """What the reconcile needs of an informer's store (``runtime.Store`` has exactly this shape)."""

    def get(self, key: ObjectKey) -> Manifest | None: ...

    def list(
        self, *, namespace: str | None = None, labels: Mapping[str, str] | None = None
    ) -> builtins.list[Manifest]: ...


class MergedCache:
    """Several stores of one kind seen as one (one informer per watched namespace)."""

    def __init__(self, stores: Sequence[Cache]) -> None:
        self.stores = tuple(stores)

    def get(self, key: ObjectKey) -> Manifest | None:
        for store in self.stores:
            found = store.get(key)
            if found is not None:
                return found
        return None

    def list(self, *, namespace: str | None = None, labels: Mapping[str, str] | None = None) -> builtins.list[Manifest]:
        out: builtins.list[Manifest] = []
        for store in self.stores:
            out += store.list(namespace=namespace, labels=labels)
        return out


def _rv(obj: Manifest | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")


def _not_older(cached: str, written: str) -> bool:
    """The cached version is the written one or a later one. resourceVersions are opaque, but the
    API server's are etcd revisions (decimal, increasing); anything else is compared for equality only."""
    if cached == written:
        return bool(written)
    return cached.isdigit() and written.isdigit() and int(cached) > int(written)


class Reader:
    """Reads for the reconcile: the cache of a kind when there is one, else the API server."""

    def __init__(
        self,
        kube: KubeClient,
        *,
        caches: Mapping[ResourceType, Cache],
        remember: Mapping[ResourceType, float] | None = None,
        remember_limit: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``remember``: uncached kinds whose objects of ours a GET (or a write) leaves remembered, and for how
        many seconds; at most ``remember_limit`` of them, the least recently used forgotten first."""
        self.kube = kube
        self.caches = dict(caches)
        self._remember = dict(remember or {})
        self._remember_limit = remember_limit
        self._clock = clock
        self._remembered: OrderedDict[tuple[ResourceType, ObjectKey], tuple[float, Manifest]] = OrderedDict()
        self._written: dict[tuple[ResourceType, ObjectKey], tuple[Manifest | None, str]] = {}
        self._written_in: dict[tuple[ResourceType, str], set[ObjectKey]] = {}
        """The keys of ``_written`` by kind and namespace: a list looks at its namespace's only (issue 20)."""
        self._echoes: dict[tuple[ResourceType, ObjectKey], str] = {}
        """The resourceVersion each write returned, until its watch event arrives (:meth:`echo`)."""

    def cached(self, rt: ResourceType) -> bool:
        return rt in self.caches

    async def get(self, rt: ResourceType, key: ObjectKey, *, direct: bool = False) -> Manifest | None:
        """The object (None when absent): from the cache when the kind is cached, else one GET.

        ``direct``: always GET. For objects the informers cannot see (a user's Secret carries none of the
        labels the operator's informers select on, so a cache miss would not mean "absent").
        """
        cache = self.caches.get(rt)
        if cache is None or direct:
            remembers = not direct and rt in self._remember
            if remembers:
                recalled = self._recall(rt, key)
                if recalled is not None:
                    return recalled
            try:
                found = await self.kube.get(rt, key.name, namespace=key.namespace or None)
            except NotFound:
                self._remembered.pop((rt, key), None)
                return None
            if remembers:
                self._keep(rt, key, found)
            return found
        return expand(self._fresh(rt, key, cache.get(key)))

    def _recall(self, rt: ResourceType, key: ObjectKey) -> Manifest | None:
        entry = self._remembered.get((rt, key))
        if entry is None:
            return None
        if self._clock() - entry[0] >= self._remember[rt]:
            del self._remembered[(rt, key)]
            return None
        return expand(entry[1])

    def _keep(self, rt: ResourceType, key: ObjectKey, obj: Manifest | None) -> None:
        """Remember ``obj`` (None: forget) if it is ours: a Secret of someone else's is read every time."""
        labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
        if obj is None or any(labels.get(k) != v for k, v in MANAGED_BY_SELECTOR.items()):
            self._remembered.pop((rt, key), None)
            return
        self._remembered[(rt, key)] = (self._clock(), compact(obj))
        self._remembered.move_to_end((rt, key))
        while len(self._remembered) > self._remember_limit:
            self._remembered.popitem(last=False)

    async def lookup(self, rt: ResourceType, key: ObjectKey) -> Manifest | None:
        """The object, from the cache when it is there, else one GET: for the object about to be created.

        Why: the informers select this operator's label, so a cache miss means "none of ours", not "none".
        A same-named object without the label (another team's Service, a Secret restored without labels)
        is found here before anything writes over it (controller/ownership.py decides what happens then).
        """
        found = await self.get(rt, key)
        if found is None and self.cached(rt):
            return await self.get(rt, key, direct=True)
        return found

    def list(self, rt: ResourceType, *, namespace: str, labels: Mapping[str, str]) -> builtins.list[Manifest]:
        """Cached objects of a cached kind (never an API call; an uncached kind lists nothing)."""
        cache = self.caches.get(rt)
        if cache is None:
            return []
        found = {ObjectKey.of(o): o for o in cache.list(namespace=namespace, labels=labels)}
        for key in list(self._written_in.get((rt, namespace), ())):
            fresh = self._fresh(rt, key, found.get(key))
            if fresh is None:
                found.pop(key, None)
            elif all((fresh.get("metadata") or {}).get("labels", {}).get(k) == v for k, v in labels.items()):
                found[key] = fresh
        return [o for o in map(expand, found.values()) if o is not None]

    def wrote(self, rt: ResourceType, key: ObjectKey, obj: Manifest | None) -> None:
        """Record the result of a write (``None``: deleted) until the cache catches up."""
        cache = self.caches.get(rt)
        if cache is None:
            if rt in self._remember:
                self._keep(rt, key, obj)
            return
        cached = cache.get(key)
        if obj is not None and _rv(obj) and (cached is None or not _not_older(_rv(cached), _rv(obj))):
            self._echoes[(rt, key)] = _rv(obj)
        else:
            self._echoes.pop((rt, key), None)
        if obj is not None and cached is not None and _not_older(_rv(cached), _rv(obj)):
            # NB: the informer may run between our write's response and this call and already hold our
            # write and even a later one (the StatefulSet controller's status update comes within
            # milliseconds). Pinning our write then would serve a stale object until the next change of
            # it, which for an idle StatefulSet never comes: a rollout would never start.
            self._forget(rt, key)
            return
        # NB: kept in the cache's own compact form: an entry may live until the key's next pass.
        entry = cache_transform(rt)(obj) if obj is not None else None
        self._written[(rt, key)] = (entry, _rv(cached))
        self._written_in.setdefault((rt, key.namespace), set()).add(key)

    def echo(self, rt: ResourceType, obj: Manifest) -> bool:
        """The watch event's object is exactly what a write of ours returned (True once per write).

        Why: the pass that wrote it went on knowing what it wrote, so its event brings nothing a pass would
        act on; without this, each of the ~10 objects a new cluster's first pass creates queues the cluster
        again (issue 20). Only an equal resourceVersion counts: any other change (a controller's status, a
        user's edit) is news, and an event the cache delivers before the write's response was recorded
        queues its pass as before.
        """
        key = ObjectKey.of(obj)
        written = self._echoes.get((rt, key))
        if written is None:
            return False
        seen = _rv(obj)
        if seen == written:
            del self._echoes[(rt, key)]
            return True
        if _not_older(seen, written):
            del self._echoes[(rt, key)]  # a later version: ours will not come by itself
        return False

    def _forget(self, rt: ResourceType, key: ObjectKey) -> None:
        self._written.pop((rt, key), None)
        keys = self._written_in.get((rt, key.namespace))
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._written_in[(rt, key.namespace)]

    def _fresh(self, rt: ResourceType, key: ObjectKey, cached: Manifest | None) -> Manifest | None:
        entry = self._written.get((rt, key))
        if entry is None:
            return cached
        written, rv_at_write = entry
        if _rv(cached) == rv_at_write:
            return written  # the cache has not seen our write yet
        self._forget(rt, key)
        return cached
