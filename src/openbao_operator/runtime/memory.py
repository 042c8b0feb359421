"""Give the C allocator's free pages back to the system now and then (glibc ``malloc_trim``).

Why: a burst of work (a thousand clusters converging, a relist) decodes many JSON bodies at once; once they are
freed, glibc keeps the pages of its heap that are free but not at its top, so the process' resident memory stays
at the burst's peak although little of it is in use. ``malloc_trim(0)`` releases those pages (a millisecond or
two per call at a thousand clusters). Elsewhere than glibc there is nothing to call and nothing is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
from collections.abc import Callable

TRIM_EVERY_SECONDS = 10.0


def libc_trim() -> Callable[[], None] | None:
    """``malloc_trim(0)`` of the C library the process runs on, or None when it has none (not glibc)."""
    try:
        function = ctypes.CDLL(None).malloc_trim  # NB: the process' own symbols: no library search at start
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_size_t]
    function.restype = ctypes.c_int

    def trim() -> None:
        function(0)

    return trim


async def trim_periodically(
    stop: asyncio.Event, *, trim: Callable[[], None] | None, every: float = TRIM_EVERY_SECONDS
) -> None:
    """Call ``trim`` every ``every`` seconds until ``stop`` is set (returns at once without a ``trim``)."""
    if trim is None:
        return
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
        if not stop.is_set():
            trim()
