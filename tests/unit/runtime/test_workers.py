"""Workers: one key never runs twice at once, results schedule what follows, failures back off, metrics count."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest
from prometheus_client import CollectorRegistry

from openbao_operator import kube
from openbao_operator.kube import ObjectKey
from openbao_operator.runtime import Controller, ExponentialBackoff, Result, RuntimeMetrics, WorkQueue

A, B = ObjectKey("ns", "a"), ObjectKey("ns", "b")


def _controller(reconcile: object, *, workers: int = 4) -> tuple[Controller, WorkQueue[ObjectKey], CollectorRegistry]:
    registry = CollectorRegistry()
    metrics = RuntimeMetrics(registry)
    queue: WorkQueue[ObjectKey] = WorkQueue("c", backoff=ExponentialBackoff(rng=random.Random(3), jitter=0.0))
    controller = Controller("c", reconcile, queue, metrics=metrics, workers=workers, new_id=lambda: "id")  # type: ignore[arg-type]
    return controller, queue, registry


@pytest.mark.looptime
async def test_a_key_is_never_reconciled_concurrently() -> None:
    running: Counter[ObjectKey] = Counter()
    overlaps = []
    calls: Counter[ObjectKey] = Counter()

    async def reconcile(key: ObjectKey) -> Result:
        running[key] += 1
        calls[key] += 1
        if running[key] > 1:
            overlaps.append(key)
        await asyncio.sleep(1)
        running[key] -= 1
        return Result()

    controller, queue, _ = _controller(reconcile)
    task = asyncio.create_task(controller.run())
    for _ in range(5):
        queue.add(A)
        queue.add(B)
        await asyncio.sleep(0.2)  # all five adds land within the first 1 s reconcile
    await asyncio.sleep(5)
    await controller.stop()
    await task
    assert overlaps == []
    assert calls[A] == 2, "adds during processing collapse into one more reconcile"
    assert calls[B] == 2


@pytest.mark.looptime
async def test_results_and_failures_schedule_the_next_run() -> None:
    loop = asyncio.get_running_loop()
    times: dict[str, list[float]] = {"ok": [], "later": [], "fail": [], "busy": []}
    start = loop.time()

    async def reconcile(key: ObjectKey) -> Result | None:
        times[key.name].append(round(loop.time() - start, 6))
        if key.name == "later":
            return Result(requeue_after=60)
        if key.name == "fail":
            raise RuntimeError("boom")
        if key.name == "busy":
            raise kube.Transient("slow down", code=429, retry_after=7)
        return None

    controller, queue, registry = _controller(reconcile)
    task = asyncio.create_task(controller.run())
    for name in times:
        queue.add(ObjectKey("ns", name))
    await asyncio.sleep(130)
    await controller.stop()
    await task
    assert times["ok"] == [0]
    assert times["later"] == [0, 60, 120]
    assert times["fail"] == [0, 1, 3, 7, 15, 31, 63, 127]
    assert times["busy"][:3] == [0, 7, 14], "the server's Retry-After wins over backoff"

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, {"controller": "c", **labels})

    assert sample("controller_runtime_reconcile_total", result="success") == 1
    assert sample("controller_runtime_reconcile_total", result="requeue_after") == 3
    assert sample("controller_runtime_reconcile_errors_total") == len(times["fail"]) + len(times["busy"])
    assert sample("controller_runtime_reconcile_time_seconds_count") == sum(len(t) for t in times.values())


@pytest.mark.looptime
async def test_stop_waits_for_in_flight_reconciles() -> None:
    finished = []

    async def reconcile(key: ObjectKey) -> Result:
        await asyncio.sleep(10)
        finished.append(key)
        return Result()

    controller, queue, _ = _controller(reconcile, workers=2)
    task = asyncio.create_task(controller.run())
    queue.add(A)
    queue.add(B)
    await asyncio.sleep(1)
    await controller.stop(grace=30)
    await task
    assert sorted(finished) == [A, B]
