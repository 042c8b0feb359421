"""A self-initialised cluster grows beyond its bootstrap pod only once pod-0 is Ready (bootstrap.hold_for_self_init).

The bug this guards against: the StatefulSet grew as soon as pod-0's ``openbao-initialized`` label appeared,
while pod-0 was not Ready yet; pods 1 and 2 (which carry the ``initialize`` blocks too) found no Ready peer to
join and each initialised a raft cluster of its own (seen in tests/integration/test_operator_token_e2e.py:
one voter in pod-0's raft configuration, three "Available" pods).
"""

from __future__ import annotations

from typing import Any

import pytest

from openbao_operator.api import parse_cluster
from openbao_operator.controller.bootstrap import hold_for_self_init
from tests.unit.render.config_cases import manifest

SELF_INIT = {"enabled": True, "oidc": {"enabled": True}}


def _sts(replicas: int) -> dict[str, Any]:
    return {"metadata": {"name": "bao"}, "spec": {"replicas": replicas}}


def _pod0(*, ready: bool, phase: str = "Running") -> dict[str, Any]:
    return {
        "metadata": {"name": "bao-0", "labels": {"openbao-initialized": "true"}},
        "status": {"phase": phase, "podIP": "10.0.0.1",
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }  # fmt: skip


def _cluster(**spec: Any) -> Any:
    return parse_cluster(manifest(name="bao", namespace="ns", **{"replicas": 3, **spec}))


def test_initialized_but_not_ready_holds_the_bootstrap_pod_alone() -> None:
    cluster = _cluster(selfInit=SELF_INIT)
    assert hold_for_self_init(cluster, _sts(1), [_pod0(ready=False)], initialized=True) == 1
    assert hold_for_self_init(cluster, _sts(1), [], initialized=True) == 1
    assert hold_for_self_init(cluster, _sts(1), [_pod0(ready=True, phase="Pending")], initialized=True) == 1


def test_ready_pod0_lets_it_grow() -> None:
    cluster = _cluster(selfInit=SELF_INIT)
    assert hold_for_self_init(cluster, _sts(1), [_pod0(ready=True)], initialized=True) is None


@pytest.mark.parametrize(
    ("spec", "live", "initialized"),
    [
        ({}, 1, True),  # the operator initialises: new pods carry no initialize blocks
        ({"selfInit": SELF_INIT}, 1, False),  # before initialization the render holds 1 anyway
        ({"selfInit": SELF_INIT}, 3, True),  # a grown cluster is never held back here
        ({"selfInit": SELF_INIT, "replicas": 1}, 1, True),
    ],
    ids=["operator-init", "uninitialized", "already-grown", "one-replica"],
)
def test_nothing_is_held_otherwise(spec: dict[str, Any], live: int, initialized: bool) -> None:
    assert hold_for_self_init(_cluster(**spec), _sts(live), [_pod0(ready=False)], initialized=initialized) is None
