"""Per-key exponential backoff for failed reconciles: 1 s, 2 s, 4 s, ... up to 5 min, with jitter.

Why per key: one broken cluster must not slow the others (client-go's ItemExponentialFailureRateLimiter).
Why jitter: many keys failing on the same API outage should not all retry in the same instant. The
randomness is injected, so tests draw from a seeded ``random.Random``.
"""

from __future__ import annotations

import random
from collections.abc import Hashable


class ExponentialBackoff:
    """``next_delay(key)`` = min(cap, base · 2^failures) shrunk by up to ``jitter`` (a fraction), then counted."""

    def __init__(self, *, rng: random.Random, base: float = 1.0, cap: float = 300.0, jitter: float = 0.1) -> None:
        if not (0 < base <= cap) or not (0 <= jitter < 1):
            raise ValueError("backoff needs 0 < base <= cap and 0 <= jitter < 1")
        self._rng = rng
        self.base = base
        self.cap = cap
        self.jitter = jitter
        self._failures: dict[Hashable, int] = {}

    def next_delay(self, key: Hashable) -> float:
        """The delay before retrying ``key`` after one more failure."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        # NB: the exponent is clamped so a key failing for days cannot overflow a float.
        delay = min(self.cap, self.base * 2.0 ** min(failures, 64))
        return delay * (1.0 - self.jitter * self._rng.random())

    def failures(self, key: Hashable) -> int:
        """How many failures of ``key`` are being backed off."""
        return self._failures.get(key, 0)

    def forget(self, key: Hashable) -> None:
        """``key`` succeeded: its next failure starts again at ``base``."""
        self._failures.pop(key, None)
