"""Fixtures for the pki tests: clusters from a few fields, fixed keys and serials, a fixed clock."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from openbao_operator.api import OpenBaoCluster, parse_cluster
from openbao_operator.pki import p256_key_from_seed

ClusterFactory = Callable[..., OpenBaoCluster]


def cluster(name: str = "bao", *, replicas: int = 3, tls: dict[str, Any] | None = None, **spec: Any) -> OpenBaoCluster:
    """An OpenBaoCluster with TLS enabled (OperatorManaged) plus the given spec fields (camelCase)."""
    return parse_cluster(
        {
            "apiVersion": "openbao.org/v1alpha1",
            "kind": "OpenBaoCluster",
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {
                "version": "2.4.1",
                "replicas": replicas,
                "tls": {"enabled": True, **(tls or {})},
                "storage": {"size": "1Gi"},
                **spec,
            },
        }
    )


@pytest.fixture
def make_cluster() -> ClusterFactory:
    return cluster


@pytest.fixture
def new_key() -> Callable[[], ec.EllipticCurvePrivateKey]:
    """Deterministic keys: seeds 1, 2, 3, ... per test."""
    seeds = itertools.count(1)
    return lambda: p256_key_from_seed(next(seeds))


@pytest.fixture
def new_serial() -> Callable[[], int]:
    serials = itertools.count(1000)
    return lambda: next(serials)
