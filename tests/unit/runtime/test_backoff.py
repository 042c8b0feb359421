"""Per-key exponential backoff: 1 s doubling to a 5 min cap, jitter only ever shortening a delay."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbao_operator.runtime import ExponentialBackoff


def test_doubles_to_the_cap_without_jitter() -> None:
    backoff = ExponentialBackoff(rng=random.Random(1), jitter=0.0)
    delays = [backoff.next_delay("k") for _ in range(12)]
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]


def test_forget_restarts_and_keys_are_independent() -> None:
    backoff = ExponentialBackoff(rng=random.Random(1), jitter=0.0)
    for _ in range(4):
        backoff.next_delay("a")
    assert backoff.next_delay("b") == 1
    assert backoff.failures("a") == 4
    backoff.forget("a")
    assert backoff.next_delay("a") == 1


def test_never_overflows() -> None:
    backoff = ExponentialBackoff(rng=random.Random(1))
    for _ in range(5000):
        delay = backoff.next_delay("k")
    assert 270 <= delay <= 300


@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=1, max_value=40))
def test_jitter_stays_within_its_band(seed: int, failures: int) -> None:
    backoff = ExponentialBackoff(rng=random.Random(seed), jitter=0.1)
    for n in range(failures):
        nominal = min(300.0, 2.0**n)
        delay = backoff.next_delay("k")
        assert nominal * 0.9 <= delay <= nominal


def test_same_seed_same_delays() -> None:
    one = ExponentialBackoff(rng=random.Random(42))
    two = ExponentialBackoff(rng=random.Random(42))
    assert [one.next_delay("k") for _ in range(8)] == [two.next_delay("k") for _ in range(8)]


@pytest.mark.parametrize(("base", "cap", "jitter"), [(0, 1, 0), (2, 1, 0), (1, 2, 1.0), (1, 2, -0.1)])
def test_rejects_nonsense(base: float, cap: float, jitter: float) -> None:
    with pytest.raises(ValueError, match="backoff"):
        ExponentialBackoff(rng=random.Random(), base=base, cap=cap, jitter=jitter)
