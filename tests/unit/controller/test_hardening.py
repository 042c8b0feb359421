"""Pure decisions behind the hardening of the reconcile: replicas never lowered on a missing fact, whose
object a pass may write, a pass that ends with all its work, and the root-token Secret's states."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from openbao_operator.api import parse_cluster
from openbao_operator.baoapi import InitResult, Sensitive
from openbao_operator.controller import roottoken
from openbao_operator.controller.concurrent import all_of
from openbao_operator.controller.ownership import Ownership, foreign_message, ownership
from openbao_operator.controller.profile import judge_profile
from openbao_operator.controller.reconciler import hold_replicas
from openbao_operator.kube import Conflict


def _sts(replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "c"}, "spec": {"replicas": replicas}}


@pytest.mark.parametrize(
    ("live", "initialized", "said_uninitialized", "held"),
    [
        (None, False, False, None),  # nothing live: the bootstrap pod
        (_sts(1), False, False, None),  # one pod: nothing to lose
        (_sts(3), False, False, 3),  # status lost, no label, no answer: keep all three
        (_sts(5), False, False, 5),
        (_sts(3), True, False, None),  # initialized: spec.replicas decides (scale-down has its own step)
        (_sts(3), False, True, None),  # OpenBao itself said uninitialized: back to the bootstrap pod
    ],
)
def test_live_replicas_are_kept_until_openbao_says_uninitialized(
    live: dict[str, Any] | None, initialized: bool, said_uninitialized: bool, held: int | None
) -> None:
    assert hold_replicas(live, initialized=initialized, said_uninitialized=said_uninitialized) == held


def _obj(*, refs: list[dict[str, Any]] | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "c-public", "namespace": "ns"}
    if refs is not None:
        meta["ownerReferences"] = refs
    if labels is not None:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta}


OURS = {"apiVersion": "openbao.org/v1alpha1", "kind": "OpenBaoCluster", "name": "c", "uid": "u1", "controller": True}
OUR_LABELS = {"app.kubernetes.io/managed-by": "openbao-operator", "openbao.org/cluster": "c"}


@pytest.mark.parametrize(
    ("live", "verdict"),
    [
        (None, Ownership.ABSENT),
        (_obj(refs=[OURS]), Ownership.OURS),
        (_obj(refs=[OURS], labels={}), Ownership.OURS),  # relabelled by a GitOps tool: still ours by reference
        (_obj(labels=OUR_LABELS), Ownership.ORPHAN),  # orphaned by --cascade=orphan, or restored: adopted
        (_obj(refs=[{**OURS, "uid": "u0"}], labels=OUR_LABELS), Ownership.FOREIGN),  # an earlier cluster's, still held
        (_obj(refs=[{**OURS, "kind": "Deployment", "name": "x", "uid": "d1"}]), Ownership.FOREIGN),
        (_obj(), Ownership.FOREIGN),  # another team's object of the same name
        (
            _obj(labels={"app.kubernetes.io/managed-by": "openbao-operator", "openbao.org/cluster": "other"}),
            Ownership.FOREIGN,
        ),
        (_obj(refs=[{**OURS, "controller": False}]), Ownership.FOREIGN),  # a plain owner is not a controller
    ],
)
def test_ownership(live: dict[str, Any] | None, verdict: Ownership) -> None:
    assert ownership(live, owner_uid="u1", cluster_name="c") is verdict
    assert verdict.writable is (verdict is not Ownership.FOREIGN)


def test_foreign_message_names_the_object_and_the_way_out() -> None:
    unlabelled = foreign_message(_obj(), cluster_name="c")
    assert unlabelled.startswith("Service c-public ")
    assert "openbao.org/cluster=c" in unlabelled
    held = foreign_message(_obj(refs=[{**OURS, "kind": "Deployment", "name": "x", "uid": "d1"}]), cluster_name="c")
    assert "controlled by Deployment x" in held


async def test_all_of_ends_with_every_sibling_and_raises_the_failure_itself() -> None:
    ended: list[str] = []
    release = asyncio.Event()

    async def slow() -> str:
        try:
            await release.wait()  # never set: only cancellation ends it
            return "slow"
        finally:
            ended.append("slow")

    async def fails() -> str:
        await asyncio.sleep(0)
        raise Conflict("409 from the API server", code=409)

    with pytest.raises(Conflict):  # the failure itself (its retry_after is read), not an ExceptionGroup
        await all_of(slow(), fails())
    assert ended == ["slow"], "the sibling ended before all_of returned"


async def test_all_of_returns_results_in_order() -> None:
    async def value(v: int) -> int:
        await asyncio.sleep(0.01 * (3 - v))
        return v

    assert await all_of(value(1), value(2), value(3)) == (1, 2, 3)


def _cluster(**spec: Any) -> Any:
    return parse_cluster(
        {
            "apiVersion": "openbao.org/v1alpha1",
            "kind": "OpenBaoCluster",
            "metadata": {"name": "c", "namespace": "ns"},
            "spec": {"version": "2.7.2", "tls": {"enabled": True}, "storage": {"size": "1Gi"}, **spec},
        }
    )


def test_root_token_secret_states() -> None:
    cluster = _cluster(deletionPolicy="DeleteAll")
    pending = roottoken.placeholder(cluster, namespace="ns", owner_uid="u1")
    assert "data" not in pending
    assert roottoken.state(pending) == roottoken.PENDING
    assert pending["metadata"]["ownerReferences"][0]["uid"] == "u1"
    assert "ownerReferences" not in roottoken.placeholder(_cluster(), namespace="ns", owner_uid="u1")["metadata"]
    answer = InitResult(root_token=Sensitive("s.roottoken123"), recovery_keys=(Sensitive("cmVjb3Zlcnk="),))
    full = roottoken.filled(cluster, answer, namespace="ns", owner_uid="u1")
    assert roottoken.state(full) == roottoken.STORED
    assert base64.b64decode(full["data"]["token"]).decode() == "s.roottoken123"
    assert set(full["data"]) == {"token", "recovery-key-0"}
    assert "s.roottoken123" not in str(full["metadata"])
    patch = roottoken.fill_patch(full, resource_version="42")
    assert patch["metadata"]["resourceVersion"] == "42"
    assert patch["data"] == full["data"]
    # written by the reference operator or an earlier version: a token and no annotation
    legacy = {"metadata": {"name": "c-root-token"}, "data": {"token": "eA=="}}
    assert roottoken.state(legacy) == roottoken.STORED
    revoked = {"metadata": {"annotations": {roottoken.STATE_ANNOTATION: "revoked"}}, "data": {"recovery-key-0": "eA=="}}
    assert roottoken.state(revoked) == roottoken.REVOKED
    assert roottoken.mark_patch(roottoken.REVOKED, drop_token=True)["data"] == {"token": None}
    assert roottoken.state(None) is None


def test_plain_http_root_token_is_said_in_security_risk() -> None:
    verdict = judge_profile(_cluster(tls={"enabled": False}, profile="Development"))
    assert verdict.security_risk is not None
    assert "root token" in verdict.security_risk.message
    assert "plain HTTP" in verdict.security_risk.message
    request = {"name": "kv", "operation": "update", "path": "secret/data/hello", "data": {"data": {"a": "b"}}}
    self_init = {"enabled": True, "requests": [request]}
    quiet = judge_profile(_cluster(tls={"enabled": False}, profile="Development", selfInit=self_init))
    assert quiet.security_risk is not None
    assert "root token" not in quiet.security_risk.message.split(";")[0]
