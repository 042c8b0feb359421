"""Quantities compare by exact value, the way the API server canonicalises them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbao_operator.kube import parse_quantity, same_quantity


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("0.5", "500m"),
        ("1024Mi", "1Gi"),
        ("1000m", "1"),
        ("1e3", "1k"),
        ("1E3", "1k"),
        (2, "2"),
        ("1.5Gi", "1536Mi"),
        ("100M", "1e8"),
        (".5", "500m"),
        ("0.1", "100m"),
    ],
)
def test_canonical_forms_are_equal(sent: object, stored: object) -> None:
    assert same_quantity(sent, stored)


@pytest.mark.parametrize(("a", "b"), [("1G", "1Gi"), ("1", "1m"), ("1E", "1e0"), ("100Mi", "100M"), ("1Ki", "1k")])
def test_different_values_differ(a: str, b: str) -> None:
    assert not same_quantity(a, b)


@pytest.mark.parametrize("text", ["", "abc", "1x", "1 Gi", "Gi", "1.2.3", "--1", True, None, [1]])
def test_non_quantities(text: object) -> None:
    assert parse_quantity(text) is None


def test_exa_and_exponent_are_told_apart() -> None:
    assert parse_quantity("1E") == Decimal(10) ** 18
    assert parse_quantity("1E2") == Decimal(100)


@given(st.integers(min_value=0, max_value=2**40))
def test_mebibytes_match_bytes(n: int) -> None:
    assert same_quantity(f"{n}Mi", str(n * 2**20))
