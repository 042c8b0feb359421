"""A timer's pass over a waiting cluster asks pod-0 alone; anything but "still no answer" leads to a full pass."""

from __future__ import annotations

from typing import Any, cast

from openbao_operator.baoapi import BaoUnavailable, Target
from openbao_operator.controller import Reader, ReconcilerConfig
from openbao_operator.controller.reconciler import Reconciler
from openbao_operator.kube import ObjectKey
from tests.unit.controller.test_sources import nowhere

KEY = ObjectKey("team", "bao")
TARGET = Target(base_url="https://10.0.0.9:8200", server_name="bao-0.bao-internal.team.svc", ca_pem="CA")
RAW: dict[str, Any] = {"metadata": {"name": "bao", "namespace": "team", "uid": "u"}, "status": {}}


class Pod0:
    def __init__(self, failure: Exception | None) -> None:
        self.failure = failure
        self.asked = 0

    async def initialized(self) -> bool:
        self.asked += 1
        if self.failure is not None:
            raise self.failure
        return False


def reconciler(pod0: Pod0) -> Reconciler:
    kube = nowhere()  # any request would fail: a probe-only pass sends none
    rec = Reconciler(
        kube=kube,
        reader=Reader(kube, caches={}),
        events=cast(Any, None),
        verifier=cast(Any, None),
        config=ReconcilerConfig(),
        tenancy_view=cast(Any, None),
        bao_connect=lambda _: cast(Any, pod0),
    )
    waits = rec.clients.waits
    waits.check(KEY, waiting="pod bao-0 to answer sys/init", statefulset=None, pods=[], target=TARGET)
    waits.settle(KEY, waited=True, others=None)
    return rec


async def test_no_answer_again_is_the_next_check_and_anything_else_a_full_pass() -> None:
    quiet = Pod0(BaoUnavailable("connection refused"))
    outcome = await reconciler(quiet)._probe_only(RAW, KEY)
    assert outcome is not None
    assert outcome.requeue_after == 2.0
    assert quiet.asked == 1
    for failure in (RuntimeError("a bug"), OSError("odd socket")):
        odd = Pod0(failure)
        assert await reconciler(odd)._probe_only(RAW, KEY) is None  # not raised: the full pass meets it
        assert odd.asked == 1
    answered = Pod0(None)
    assert await reconciler(answered)._probe_only(RAW, KEY) is None  # an answer is the full pass's to act on
    deleting = {**RAW, "metadata": {**RAW["metadata"], "deletionTimestamp": "2026-12-03T00:00:00Z"}}
    assert await reconciler(Pod0(None))._probe_only(deleting, KEY) is None
