"""Free heap pages are given back now and then; where there is no malloc_trim nothing is done."""

from __future__ import annotations

import asyncio

from openbao_operator.runtime import libc_trim, trim_periodically


def test_glibc_trim_is_found_and_callable() -> None:
    trim = libc_trim()
    assert trim is not None  # the test machines run glibc
    trim()


async def test_trims_every_period_until_stopped() -> None:
    calls: list[int] = []
    stop = asyncio.Event()
    task = asyncio.create_task(trim_periodically(stop, trim=lambda: calls.append(1), every=0.01))
    for _ in range(500):
        if len(calls) >= 3:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert len(calls) >= 3
    done = len(calls)
    await asyncio.sleep(0.05)
    assert len(calls) == done


async def test_without_a_trim_returns_at_once() -> None:
    await asyncio.wait_for(trim_periodically(asyncio.Event(), trim=None), timeout=5)
