"""The worker pool: N tasks taking keys from the queue and running the injected reconcile on each.

Why here and not in the controller package: what happens around a reconcile (one key never in two workers,
backoff after a failure, requeue-after, metrics, log context) is the same for any kind; the reconcile
itself is a plain ``async (key) -> Result`` the runtime knows nothing about.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from openbao_operator.kube import KubeError, ObjectKey

from .logs import get_logger, new_reconcile_id, reconcile_context
from .metrics import RuntimeMetrics
from .queue import ShutDown, WorkQueue

log = get_logger(__name__)


@dataclass(frozen=True)
class Result:
    """What to do with the key after a successful reconcile.

    ``requeue_after``: reconcile again after that many seconds (time-based work, e.g. certificate renewal),
    never by polling. ``requeue``: again with backoff (waiting on something outside our watches).
    """

    requeue_after: float | None = None
    requeue: bool = False


Reconcile = Callable[[ObjectKey], Awaitable[Result | None]]


class Controller:
    """Runs ``reconcile`` for keys of ``queue`` on ``workers`` concurrent tasks."""

    def __init__(
        self,
        name: str,
        reconcile: Reconcile,
        queue: WorkQueue[ObjectKey],
        *,
        metrics: RuntimeMetrics,
        workers: int = 2,
        clock: Callable[[], float] | None = None,
        new_id: Callable[[], str] = new_reconcile_id,
    ) -> None:
        if workers < 1:
            raise ValueError("a controller needs at least one worker")
        self.name = name
        self.reconcile = reconcile
        self.queue = queue
        self.metrics = metrics
        self.workers = workers
        self._clock = clock
        self._new_id = new_id
        self.active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def run(self) -> None:
        """Run the workers until the queue is shut down (each finishes its current key first)."""
        async with asyncio.TaskGroup() as group:
            for index in range(self.workers):
                group.create_task(self._worker(), name=f"{self.name}-worker-{index}")

    async def stop(self, *, grace: float = 30.0) -> None:
        """Stop handing out keys and wait up to ``grace`` seconds for in-flight reconciles."""
        self.queue.shut_down()
        if self.active:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), grace)

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            self.active += 1
            self._idle.clear()
            try:
                await self.process(key)
            finally:
                self.active -= 1
                if not self.active:
                    self._idle.set()
                self.queue.done(key)

    async def process(self, key: ObjectKey) -> str:
        """Reconcile one key and schedule what follows; returns the result label recorded in metrics."""
        start = self._now()
        with reconcile_context(controller=self.name, namespace=key.namespace, name=key.name, new_id=self._new_id):
            try:
                result = await self.reconcile(key) or Result()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                label = "error"
                self.metrics.reconcile_errors.labels(self.name).inc()
                retry_after = exc.retry_after if isinstance(exc, KubeError) else None
                if retry_after:
                    self.queue.add_after(key, retry_after)
                    delay = retry_after
                else:
                    delay = self.queue.add_rate_limited(key)
                log.warning("reconcile failed", error=str(exc), error_type=type(exc).__name__, retry_in=round(delay, 3))
            else:
                if result.requeue_after is not None:
                    label = "requeue_after"
                    self.queue.forget(key)
                    self.queue.add_after(key, result.requeue_after)
                elif result.requeue:
                    label = "requeue"
                    self.queue.add_rate_limited(key)
                else:
                    label = "success"
                    self.queue.forget(key)
            finally:
                self.metrics.reconcile_time.labels(self.name).observe(max(0.0, self._now() - start))
        self.metrics.reconcile_total.labels(self.name, label).inc()
        return label

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()
