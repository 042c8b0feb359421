"""The work queue keeps client-go's promises: dedup, never two workers on one key, deferred re-adds,
delays and per-key backoff. Timed tests run under looptime: the loop clock is fake, instant and exact."""

from __future__ import annotations

import asyncio
import random

import pytest
from prometheus_client import CollectorRegistry

from openbao_operator.runtime import ExponentialBackoff, RuntimeMetrics, ShutDown, WorkQueue


def _queue(*, registry: CollectorRegistry | None = None, jitter: float = 0.0) -> WorkQueue[str]:
    metrics = RuntimeMetrics(registry) if registry is not None else None
    return WorkQueue("test", backoff=ExponentialBackoff(rng=random.Random(7), jitter=jitter), metrics=metrics)


async def test_adds_are_deduplicated_and_fifo() -> None:
    q = _queue()
    for key in ("a", "b", "a", "c", "b"):
        q.add(key)
    assert len(q) == 3
    assert [await q.get() for _ in range(3)] == ["a", "b", "c"]


async def test_readd_while_processing_is_deferred_until_done() -> None:
    q = _queue()
    q.add("a")
    assert await q.get() == "a"
    q.add("a")
    q.add("a")
    assert len(q) == 0, "a key being processed must not be handed to a second worker"
    assert q.processing == {"a"}
    q.done("a")
    assert len(q) == 1
    assert await q.get() == "a"
    q.done("a")
    assert len(q) == 0


async def test_done_without_readd_forgets_the_key() -> None:
    q = _queue()
    q.add("a")
    await q.get()
    q.done("a")
    assert len(q) == 0
    assert q.processing == frozenset()


@pytest.mark.looptime
async def test_add_after_waits_and_the_sooner_time_wins() -> None:
    q = _queue()
    loop = asyncio.get_running_loop()
    start = loop.time()
    q.add_after("a", 30)
    q.add_after("a", 10)
    q.add_after("a", 20)
    assert len(q) == 0
    assert await q.get() == "a"
    assert loop.time() - start == pytest.approx(10)
    q.done("a")
    assert len(q) == 0, "the superseded 20 s and 30 s entries must not requeue the key"
    await asyncio.sleep(60)
    assert len(q) == 0


@pytest.mark.looptime
async def test_get_wakes_for_an_earlier_delay_added_while_waiting() -> None:
    q = _queue()
    loop = asyncio.get_running_loop()
    start = loop.time()
    q.add_after("late", 100)
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(1)
    q.add_after("early", 5)
    assert await getter == "early"
    assert loop.time() - start == pytest.approx(6)


@pytest.mark.looptime
async def test_rate_limited_retries_back_off_exponentially_per_key() -> None:
    q = _queue()
    loop = asyncio.get_running_loop()
    waits = []
    for _ in range(5):
        start = loop.time()
        q.add_rate_limited("a")
        assert await q.get() == "a"
        q.done("a")
        waits.append(round(loop.time() - start, 6))
    assert waits == [1, 2, 4, 8, 16]
    assert q.num_requeues("a") == 5
    q.forget("a")
    assert q.num_requeues("a") == 0
    assert q.add_rate_limited("a") == 1
    assert q.add_rate_limited("b") == 1, "one key's failures do not slow another"


@pytest.mark.looptime
async def test_shutdown_releases_waiting_workers() -> None:
    q = _queue()
    waiters = [asyncio.create_task(q.get()) for _ in range(3)]
    await asyncio.sleep(1)
    q.shut_down()
    for waiter in waiters:
        with pytest.raises(ShutDown):
            await waiter
    q.add("a")
    assert len(q) == 0, "a shut-down queue accepts nothing"


@pytest.mark.looptime
async def test_metrics_follow_the_queue() -> None:
    registry = CollectorRegistry()
    q = _queue(registry=registry)
    q.add("a")
    q.add("a")
    q.add("b")

    def sample(name: str) -> float | None:
        return registry.get_sample_value(name, {"name": "test"})

    assert sample("workqueue_depth") == 2
    assert sample("workqueue_adds_total") == 2
    await asyncio.sleep(3)
    assert await q.get() == "a"
    assert sample("workqueue_queue_duration_seconds_sum") == pytest.approx(3)
    await asyncio.sleep(2)
    q.done("a")
    assert sample("workqueue_work_duration_seconds_sum") == pytest.approx(2)
    q.add_rate_limited("a")
    assert sample("workqueue_retries_total") == 1
    assert sample("workqueue_depth") == 1
