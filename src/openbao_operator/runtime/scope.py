"""Informers of several kinds in a set of namespaces that changes while the process runs.

Why: an operator that may list and watch only in the namespaces that opted in (least privilege: no
cluster-wide list of pods, Services, ConfigMaps, ...) cannot start one cluster-wide informer per kind at
boot. The set of namespaces is decided elsewhere (the process wiring, from opt-in objects) and handed to
:meth:`NamespaceScope.set_namespaces` at any time: a namespace that joins gets one informer per kind,
started at once when the scope runs; one that leaves has its informers cancelled and its objects
forgotten. Reads go through :class:`ScopedCache`, one per kind, with the shape of a store (``get``,
``list``), so a consumer sees one cache per kind whatever namespaces are in it.

A namespace whose informers have all listed once is *synced*; :meth:`NamespaceScope.synced` says so, and
the ``on_synced`` callback hears it once per join (the consumer then looks again at what waited for it).
Until then reads in that namespace return what has arrived so far, so a consumer that must not act on a
partial view checks :meth:`synced` first. A namespace's informers are never part of /readyz: one
namespace whose RoleBinding is broken must not take the whole process out of service (its informers
retry with backoff like any other).
"""

from __future__ import annotations

import asyncio
import builtins
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from openbao_operator.kube import KubeClient, Manifest, ObjectKey, ResourceType
from openbao_operator.kube.client import Selector

from .informer import Handler, Informer
from .logs import get_logger

log = get_logger(__name__)


@dataclass
class _Kind:
    rt: ResourceType
    labels: Selector
    transform: Callable[[Manifest], Manifest] | None
    handlers: list[Handler] = field(default_factory=list)


@dataclass
class _Namespace:
    informers: dict[ResourceType, Informer]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    watcher: asyncio.Task[None] | None = None


class ScopedCache:
    """One kind across the scope's namespaces, read like a store (the controller's ``Cache`` shape)."""

    def __init__(self, scope: NamespaceScope, rt: ResourceType) -> None:
        self._scope = scope
        self._rt = rt

    def get(self, key: ObjectKey) -> Manifest | None:
        informer = self._scope._informer(key.namespace, self._rt)
        return informer.store.get(key) if informer is not None else None

    def list(self, *, namespace: str | None = None, labels: Mapping[str, str] | None = None) -> builtins.list[Manifest]:
        if namespace is not None:
            informer = self._scope._informer(namespace, self._rt)
            return informer.store.list(namespace=namespace, labels=labels) if informer is not None else []
        out: builtins.list[Manifest] = []
        for ns in self._scope.namespaces():
            informer = self._scope._informer(ns, self._rt)
            if informer is not None:
                out += informer.store.list(labels=labels)
        return out


class NamespaceScope:
    """Build it, register kinds (:meth:`cache`) and handlers, then let the :class:`Manager` run it."""

    def __init__(
        self,
        kube: KubeClient,
        *,
        rng: random.Random,
        on_synced: Callable[[str], None] | None = None,
    ) -> None:
        self.kube = kube
        self._rng = rng
        self._kinds: dict[ResourceType, _Kind] = {}
        self._wanted: set[str] = set()
        self._namespaces: dict[str, _Namespace] = {}
        self._running = False
        self._on_synced = on_synced

    # -- building ------------------------------------------------------------------------------------------

    def cache(
        self, rt: ResourceType, *, labels: Selector = None, transform: Callable[[Manifest], Manifest] | None = None
    ) -> ScopedCache:
        """Watch ``rt`` (with ``labels``) in every namespace of the scope; returns its read view."""
        if self._namespaces:
            raise RuntimeError("register every kind before the first namespace joins")
        self._kinds[rt] = _Kind(rt=rt, labels=labels, transform=transform)
        return ScopedCache(self, rt)

    def add_handler(self, rt: ResourceType, handler: Handler) -> None:
        """Call ``handler`` on every change of ``rt`` in any namespace of the scope."""
        self._kinds[rt].handlers.append(handler)
        for ns in self._namespaces.values():
            ns.informers[rt].add_handler(handler)

    def on_synced(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(namespace)`` each time a namespace that joined has listed every kind once."""
        self._on_synced = callback

    # -- the set of namespaces -------------------------------------------------------------------------------

    def set_namespaces(self, namespaces: Iterable[str]) -> None:
        """Make the scope watch exactly ``namespaces`` (synchronous: callable from an informer handler)."""
        wanted = set(namespaces)
        if wanted == self._wanted:
            return
        self._wanted = wanted
        for ns in sorted(set(self._namespaces) - wanted):
            self._leave(ns)
        for ns in sorted(wanted - set(self._namespaces)):
            self._join(ns)

    def namespaces(self) -> builtins.list[str]:
        return sorted(self._namespaces)

    def watched(self, namespace: str) -> bool:
        return namespace in self._namespaces

    def synced(self, namespace: str) -> bool:
        """Every kind in ``namespace`` has listed once (False for a namespace outside the scope)."""
        ns = self._namespaces.get(namespace)
        return ns is not None and all(i.synced.is_set() for i in ns.informers.values())

    def informers(self) -> builtins.list[Informer]:
        return [i for ns in self._namespaces.values() for i in ns.informers.values()]

    # -- running ---------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Start the informers of every namespace in the scope, and of those that join later, until cancelled."""
        self._running = True
        for name, ns in self._namespaces.items():
            self._start(name, ns)
        try:
            await asyncio.Event().wait()
        finally:
            self._running = False
            for name in list(self._namespaces):
                self._stop(self._namespaces[name])
            tasks = [t for ns in self._namespaces.values() for t in (*ns.tasks, ns.watcher) if t is not None]
            await asyncio.gather(*tasks, return_exceptions=True)
            for ns in self._namespaces.values():
                ns.tasks.clear()
                ns.watcher = None

    def _informer(self, namespace: str, rt: ResourceType) -> Informer | None:
        ns = self._namespaces.get(namespace)
        return ns.informers.get(rt) if ns is not None else None

    def _join(self, name: str) -> None:
        informers = {}
        for kind in self._kinds.values():
            informer = Informer(
                self.kube, kind.rt, rng=self._rng, namespace=name, labels=kind.labels, transform=kind.transform
            )
            for handler in kind.handlers:
                informer.add_handler(handler)
            informers[kind.rt] = informer
        ns = _Namespace(informers=informers)
        self._namespaces[name] = ns
        log.info("watching namespace", namespace=name, kinds=len(informers))
        if self._running:
            self._start(name, ns)

    def _leave(self, name: str) -> None:
        ns = self._namespaces.pop(name)
        self._stop(ns)
        log.info("no longer watching namespace", namespace=name)

    def _start(self, name: str, ns: _Namespace) -> None:
        ns.tasks = [asyncio.create_task(i.run(), name=repr(i)) for i in ns.informers.values()]
        ns.watcher = asyncio.create_task(self._announce(name, ns), name=f"scope-synced({name})")

    @staticmethod
    def _stop(ns: _Namespace) -> None:
        for task in ns.tasks:
            task.cancel()
        if ns.watcher is not None:
            ns.watcher.cancel()

    async def _announce(self, name: str, ns: _Namespace) -> None:
        await asyncio.gather(*(i.synced.wait() for i in ns.informers.values()))
        if self._on_synced is not None and self._namespaces.get(name) is ns:
            try:
                self._on_synced(name)
            except Exception:
                log.exception("scope on_synced callback failed", namespace=name)
