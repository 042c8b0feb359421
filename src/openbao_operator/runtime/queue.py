"""A deduplicating work queue with client-go's semantics, for asyncio.

Why these semantics: reconciles are level-triggered, so a key queued ten times needs one reconcile, and
a key must never be reconciled by two workers at once. As in client-go:

- ``dirty``: keys waiting to be processed; adding a dirty key again is a no-op.
- ``processing``: keys a worker holds; adding one of them marks it dirty but does not queue it until the
  worker calls :meth:`WorkQueue.done`, so the re-add is deferred, never lost and never concurrent.
- ``add_after``: a key becomes ready after a delay (requeue-after, e.g. certificate renewal); the earliest
  pending time per key wins.
- ``add_rate_limited`` / ``forget``: per-key exponential backoff (:mod:`.backoff`).

Time is the event loop's clock (``loop.time``), so tests under looptime are instant and exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from .backoff import ExponentialBackoff
from .metrics import RuntimeMetrics

K = TypeVar("K", bound=Hashable)


class ShutDown(Exception):  # noqa: N818 - it is a state, not an error
    """The queue was shut down: workers should return."""


class WorkQueue(Generic[K]):
    """See the module docstring; one instance per controller, shared by its workers."""

    def __init__(
        self,
        name: str,
        *,
        backoff: ExponentialBackoff,
        metrics: RuntimeMetrics | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.name = name
        self.backoff = backoff
        self._metrics = metrics
        self._clock = clock
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._waiting: dict[K, float] = {}
        self._heap: list[tuple[float, int, K]] = []
        self._seq = itertools.count()
        self._added_at: dict[K, float] = {}
        self._started_at: dict[K, float] = {}
        self._changed = asyncio.Event()
        self._shutting_down = False

    # -- adding ----------------------------------------------------------------------------------------

    def add(self, key: K) -> None:
        """Queue ``key`` unless it is already waiting; a key being processed is queued again at ``done``."""
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        self._added_at.setdefault(key, self._now())
        if self._metrics is not None:
            self._metrics.queue_adds.labels(self.name).inc()
        if key in self._processing:
            return
        self._queue.append(key)
        self._update_depth()
        self._changed.set()

    def add_after(self, key: K, delay: float) -> None:
        """Queue ``key`` after ``delay`` seconds; a sooner pending time for the same key wins."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        ready_at = self._now() + delay
        current = self._waiting.get(key)
        if current is not None and current <= ready_at:
            return
        self._waiting[key] = ready_at
        heapq.heappush(self._heap, (ready_at, next(self._seq), key))
        self._changed.set()  # a getter may be sleeping until a later deadline

    def add_rate_limited(self, key: K) -> float:
        """Queue ``key`` after its next backoff delay (returned); counts a retry."""
        delay = self.backoff.next_delay(key)
        if self._metrics is not None:
            self._metrics.queue_retries.labels(self.name).inc()
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        """``key`` was processed successfully: reset its backoff (it does not remove a queued key)."""
        self.backoff.forget(key)

    def num_requeues(self, key: K) -> int:
        return self.backoff.failures(key)

    # -- taking ----------------------------------------------------------------------------------------

    async def get(self) -> K:
        """The next ready key, now held by the caller until :meth:`done`; raises :class:`ShutDown`."""
        while True:
            if self._shutting_down:
                raise ShutDown(self.name)
            self._promote_due()
            if self._queue:
                key = self._queue.popleft()
                self._dirty.discard(key)
                self._processing.add(key)
                now = self._now()
                added = self._added_at.pop(key, now)
                self._started_at[key] = now
                if self._metrics is not None:
                    self._metrics.queue_latency.labels(self.name).observe(max(0.0, now - added))
                self._update_depth()
                return key
            self._changed.clear()
            timeout = self._heap[0][0] - self._now() if self._heap else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)

    def done(self, key: K) -> None:
        """The caller finished ``key``; if it was added meanwhile, it is queued now."""
        self._processing.discard(key)
        started = self._started_at.pop(key, None)
        if self._metrics is not None and started is not None:
            self._metrics.work_duration.labels(self.name).observe(max(0.0, self._now() - started))
        if key in self._dirty and not self._shutting_down:
            self._queue.append(key)
            self._update_depth()
            self._changed.set()

    def shut_down(self) -> None:
        """Stop handing out keys: every :meth:`get`, waiting or future, raises :class:`ShutDown`."""
        self._shutting_down = True
        self._changed.set()

    # -- introspection ---------------------------------------------------------------------------------

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def __len__(self) -> int:
        """Keys ready to be handed out (delayed keys count once they are due)."""
        self._promote_due()
        return len(self._queue)

    @property
    def processing(self) -> frozenset[K]:
        return frozenset(self._processing)

    def pending(self, key: K) -> float | None:
        """When a delayed ``key`` becomes ready (loop time), or None."""
        return self._waiting.get(key)

    # -- internals -------------------------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def _promote_due(self) -> None:
        if not self._heap:
            return
        now = self._now()
        while self._heap and self._heap[0][0] <= now:
            ready_at, _, key = heapq.heappop(self._heap)
            if self._waiting.get(key) != ready_at:
                continue  # superseded by a sooner add_after of the same key
            del self._waiting[key]
            self.add(key)

    def _update_depth(self) -> None:
        if self._metrics is not None:
            self._metrics.queue_depth.labels(self.name).set(len(self._queue))
