"""The process: health server, informers, leader election and controllers, started and stopped in order.

Why this order: the probes listen first (the kubelet sees a live process), the caches start on every replica
(a standby has warm caches when it takes over, and /readyz means "synced"), controllers start only when
all caches have synced *and* this replica leads. Shutdown reverses it: stop handing out keys and let
in-flight reconciles finish (bounded), release the lease so a successor starts at once, stop the watches,
close the server. Losing the lease is not a shutdown: it raises :class:`LeadershipLost` after cleanup so
the process exits non-zero and is restarted as a standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from openbao_operator.kube import KubeClient, Manifest, ObjectKey, ResourceType
from openbao_operator.kube.client import Selector

from .backoff import ExponentialBackoff
from .informer import Informer
from .leader import LeaderElector, LeaseConfig
from .logs import get_logger
from .metrics import RuntimeMetrics
from .queue import WorkQueue
from .scope import NamespaceScope
from .server import HealthServer
from .workers import Controller, Reconcile

log = get_logger(__name__)


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
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.kube = kube
        self.rng = rng
        self.metrics = RuntimeMetrics(registry)
        self.server = HealthServer(registry=registry, host=host, port=port)
        self.informers: list[Informer] = []
        self.scopes: list[NamespaceScope] = []
        self.controllers: list[Controller] = []
        self.shutdown_grace = shutdown_grace
        self._clock = clock
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
            self.kube, rt, rng=self.rng, namespace=namespace, labels=labels, fields=fields, transform=transform
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
        watches = [asyncio.create_task(i.run(), name=repr(i)) for i in self.informers]
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
        """Run the controllers (after the caches synced) until ``stop``; then drain them."""
        stopping = asyncio.create_task(stop.wait())
        synced = asyncio.create_task(self.wait_synced())
        await asyncio.wait({stopping, synced}, return_when=asyncio.FIRST_COMPLETED)
        if stopping.done():
            synced.cancel()
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
        dead = [repr(i) for i in self.informers if i.synced.is_set() and not i.running]
        return f"stopped: {', '.join(dead)}" if dead else None

    def _caches_synced(self) -> str | None:
        waiting = [repr(i) for i in self.informers if not i.synced.is_set()]
        return f"not synced: {', '.join(waiting)}" if waiting else None


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGTERM (the kubelet) and SIGINT (a terminal)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on every platform's loop
            loop.add_signal_handler(sig, stop.set)
