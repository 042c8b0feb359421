"""Run a pass's independent steps at once, and end the pass only when all of them have ended.

Why not ``asyncio.gather``: when one awaitable of a gather fails, gather returns at once and leaves the
others running. A failed pass would then be retried while its siblings still write (a TLS Secret, the
unseal key, a StatefulSet), and two passes of one cluster would overlap, which the work queue promises
never happens. A ``TaskGroup`` cancels the siblings and waits for them, so a pass ends with all its work.

The first failure is re-raised as itself, not as an ``ExceptionGroup``: the runtime's retry policy reads
``KubeError.retry_after`` from the exception it catches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar, overload

T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")
T4 = TypeVar("T4")


@overload
async def all_of(a: Coroutine[Any, Any, T1], /) -> tuple[T1]: ...
@overload
async def all_of(a: Coroutine[Any, Any, T1], b: Coroutine[Any, Any, T2], /) -> tuple[T1, T2]: ...
@overload
async def all_of(
    a: Coroutine[Any, Any, T1], b: Coroutine[Any, Any, T2], c: Coroutine[Any, Any, T3], /
) -> tuple[T1, T2, T3]: ...
@overload
async def all_of(
    a: Coroutine[Any, Any, T1], b: Coroutine[Any, Any, T2], c: Coroutine[Any, Any, T3], d: Coroutine[Any, Any, T4], /
) -> tuple[T1, T2, T3, T4]: ...
@overload
async def all_of(*coros: Coroutine[Any, Any, Any]) -> tuple[Any, ...]: ...


async def all_of(*coros: Coroutine[Any, Any, Any]) -> tuple[Any, ...]:
    """Await every coroutine concurrently; results in argument order. On the first failure the others are
    cancelled and awaited, then that failure is raised."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coros]
    except BaseExceptionGroup as group_error:
        raise _first_leaf(group_error) from None
    return tuple(t.result() for t in tasks)


async def each(awaitables: list[Coroutine[Any, Any, Any]]) -> None:
    """``all_of`` for a list whose results are not needed."""
    await all_of(*awaitables)


def _first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error
