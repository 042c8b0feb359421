"""The process: health server, informers, leader election and controllers, started and stopped in order.

Why this order: the probes listen first (the kubelet sees a live process), the caches start on every replica
(a standby has warm caches when it takes over, and /readyz means "synced"), controllers start only when
all caches have synced *and* this replica leads. Shutdown reverses it: stop handing out keys and let
in-flight reconciles finish (bounded), release the lease so a successor starts at once, stop the watches,
close the server. Losing the lease is not a shutdown: it raises :class:`LeadershipLost` after cleanup so
the process exits non-zero and is restarted as a standby.

Why the sync wait is bounded: a leader whose caches never sync (an object it cannot decode used to kill an
informer; RBAC it lacks keeps a LIST failing) reconciles nothing while holding the lease, so no standby
takes over. After ``sync_timeout`` the leader gives up: it raises :class:`CacheSyncTimeout`, the elector
releases the lease on the way out, and the process exits non-zero. /healthz says the same to the kubelet:
it fails when an informer task has ended or has not synced within ``sync_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from openbao_operator.kube import KubeClient, Manifest, ObjectKey, ResourceType, UndecodableObject
from openbao_operator.kube.client import Selector

from .backoff import ExponentialBackoff
from .informer import Informer, UndecodableHandler
from .leader import LeaderElector, LeaseConfig
from .logs import get_logger
from .metrics import RuntimeMetrics
from .queue import WorkQueue
from .scope import NamespaceScope
from .server import HealthServer
from .workers import Controller, Reconcile

log = get_logger(__name__)


class CacheSyncTimeout(Exception):  # noqa: N818 - an event, named as one
    """The caches did not sync within the timeout: this replica cannot reconcile and must step aside."""


class Manager:
    """Owns the runtime parts of one operator process. Build it, register parts, then ``await run(stop)``."""

    def __init__(
        self,
        kube: KubeClient,
        *,
        registry: CollectorRegistry,
        rng: random.Random,
        lease: LeaseConfig | None = None,
        host: str = "0.0.0.0",  # noqa: S104 - probes must be reachable by the kubelet
        port: int = 8080,
        shutdown_grace: float = 30.0,
        sync_timeout: float = 120.0,
        clock: Callable[[], float] | None = None,
        on_undecodable: UndecodableHandler | None = None,
    ) -> None:
        self.kube = kube
        self.rng = rng
        self.metrics = RuntimeMetrics(registry)
        self.server = HealthServer(registry=registry, host=host, port=port)
        self.informers: list[Informer] = []
        self.scopes: list[NamespaceScope] = []
        self.controllers: list[Controller] = []
        self.shutdown_grace = shutdown_grace
        self.sync_timeout = sync_timeout
        self.on_undecodable = on_undecodable
        """Told about every object an informer cannot decode (the operator records an Event on it)."""
        self._clock = clock
        self._watches: list[asyncio.Task[None]] = []
        self._started: float | None = None
        self.elector = (
            LeaderElector(kube, lease, rng=rng, metrics=self.metrics, clock=clock) if lease is not None else None
        )
        self.server.liveness.append(("informers", self._informers_alive))
        self.server.readiness.append(("caches", self._caches_synced))

    def informer(
        self,
        rt: ResourceType,
        *,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Selector = None,
        transform: Callable[[Manifest], Manifest] | None = None,
    ) -> Informer:
        """A new informer started by :meth:`run`; add handlers to it before running.

        ``transform`` trims objects before they are cached (e.g. drop ``managedFields``).
        """
        informer = Informer(
            self.kube,
            rt,
            rng=self.rng,
            namespace=namespace,
            labels=labels,
            fields=fields,
            transform=transform,
            on_undecodable=self._report_undecodable,
        )
        self.informers.append(informer)
        return informer

    def scope(self) -> NamespaceScope:
        """Informers in namespaces that join and leave at run time (runtime/scope.py), run by :meth:`run`.

        Not part of /readyz nor of the caches the controllers wait for: a namespace joins when the wiring
        decides, and whoever reads from it checks ``scope.synced(namespace)``."""
        scope = NamespaceScope(self.kube, rng=self.rng)
        self.scopes.append(scope)
        return scope

    def queue(self, name: str) -> WorkQueue[ObjectKey]:
        """A work queue with the default backoff (1 s → 5 min, jitter) and this process' metrics."""
        return WorkQueue(name, backoff=ExponentialBackoff(rng=self.rng), metrics=self.metrics, clock=self._clock)

    def controller(
        self, name: str, reconcile: Reconcile, queue: WorkQueue[ObjectKey], *, workers: int = 2
    ) -> Controller:
        """A controller started by :meth:`run` once caches are synced and this replica leads."""
        controller = Controller(name, reconcile, queue, metrics=self.metrics, workers=workers, clock=self._clock)
        self.controllers.append(controller)
        return controller

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set (graceful) or leadership is lost (raises ``LeadershipLost``)."""
        await self.server.start()
        log.info("serving probes and metrics", port=self.server.port)
        self._started = self._now()
        watches = [asyncio.create_task(i.run(), name=repr(i)) for i in self.informers]
        self._watches = list(watches)  # the static informers, for liveness (the scopes report their own)
        watches += [asyncio.create_task(s.run(), name="namespace-scope") for s in self.scopes]
        try:
            if self.elector is None:
                await self._lead(stop)
            else:
                await self.elector.run(lambda: self._lead(stop))
        finally:
            for task in watches:
                task.cancel()
            await asyncio.gather(*watches, return_exceptions=True)
            await self.server.stop()

    async def wait_synced(self) -> None:
        await asyncio.gather(*(i.synced.wait() for i in self.informers))

    async def _lead(self, stop: asyncio.Event) -> None:
        """Run the controllers (after the caches synced) until ``stop``; then drain them.

        Raises :class:`CacheSyncTimeout` when the caches have not synced ``sync_timeout`` seconds after start.
        """
        stopping = asyncio.create_task(stop.wait())
        synced = asyncio.create_task(self.wait_synced())
        started = self._started if self._started is not None else self._now()
        remaining = max(0.0, started + self.sync_timeout - self._now())
        await asyncio.wait({stopping, synced}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        if stopping.done() or not synced.done():
            synced.cancel()
            if not stopping.done():
                stopping.cancel()
                waiting = self._caches_synced()
                log.error("caches did not sync in time; giving up leadership", timeout=self.sync_timeout, why=waiting)
                raise CacheSyncTimeout(f"caches not synced within {self.sync_timeout:.0f}s ({waiting})")
            return
        log.info("caches synced; starting controllers", controllers=[c.name for c in self.controllers])
        running = [asyncio.create_task(c.run(), name=c.name) for c in self.controllers]
        grace = self.shutdown_grace
        try:
            await stopping
        except asyncio.CancelledError:
            # NB: cancelled means leadership was lost; another replica may lead within seconds, so in-flight
            # reconciles are cancelled at once rather than drained (never two reconcilers at once).
            grace = 0.0
            raise
        finally:
            await asyncio.gather(*(c.stop(grace=grace) for c in self.controllers))
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            stopping.cancel()

    def _informers_alive(self) -> str | None:
        """Liveness: every informer task still runs, and each synced within ``sync_timeout`` of the start."""
        dead = [repr(i) for i, task in zip(self.informers, self._watches, strict=False) if task.done()]
        if dead:
            return f"stopped: {', '.join(dead)}"
        if self._started is not None and self._now() - self._started > self.sync_timeout:
            late = [f"{i!r} ({i.last_error or 'no error seen'})" for i in self.informers if not i.synced.is_set()]
            if late:
                return f"not synced after {self.sync_timeout:.0f}s: {'; '.join(late)}"
        return None

    def _caches_synced(self) -> str | None:
        waiting = [repr(i) for i in self.informers if not i.synced.is_set()]
        return f"not synced: {', '.join(waiting)}" if waiting else None

    async def _report_undecodable(self, bad: UndecodableObject) -> None:
        if self.on_undecodable is not None:
            await self.on_undecodable(bad)

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGTERM (the kubelet) and SIGINT (a terminal)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on every platform's loop
            loop.add_signal_handler(sig, stop.set)
