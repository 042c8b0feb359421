"""A cluster whose OpenBao never answers is checked less and less often, and at once again when its pods change.

kwok runs pod-0 with an address but no OpenBao behind it, so every pass asks ``sys/init`` and fails: the
cluster waits (controller/waiting.py). The operator's reconcile counter counts the passes; a full pass reads
the cluster's unseal-key Secret by name once, so the GETs of that Secret count the full ones (a timer's pass
with no watch event since the last full one asks pod-0 alone; a full one comes when the wait becomes news).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from openbao_operator import kube
from openbao_operator.controller import kinds
from openbao_operator.controller.waiting import REASON
from tests.integration.kubehelp import admin, eventually
from tests.integration.operatorhelp import (
    cluster_manifest,
    condition,
    converged,
    crd,
    get_or_none,
    running_operator,
    writes,
)
from tests.peers.controlplane import ControlPlane

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240), pytest.mark.usefixtures("crd")]
__all__ = ["crd"]


def full_passes(counter: kube.RequestCounter, name: str) -> int:
    return sum(1 for m, p in counter.log if m == "GET" and p.endswith(f"/secrets/{name}-unseal-key"))


def passes(operator: Any) -> float:
    registry = operator.manager.metrics.registry
    return sum(
        registry.get_sample_value("controller_runtime_reconcile_total", {"controller": "openbaocluster", "result": r})
        or 0.0
        for r in ("success", "requeue_after", "requeue", "error")
    )


async def test_a_waiting_cluster_backs_off_and_a_pod_change_resets_it(
    control_plane: ControlPlane, namespace: str
) -> None:
    client = admin(control_plane, field_manager="test-user")
    counter = kube.RequestCounter()
    key = kube.ObjectKey(namespace, "wait")
    try:
        async with running_operator(control_plane, namespace, counter=counter, resync_seconds=600) as operator:
            await client.apply(cluster_manifest("wait", namespace, replicas=1))
            await eventually(lambda: converged(client, "wait", namespace), what="converged", within=30)
            waits = operator.reconciler.clients.waits
            await eventually(lambda: _is(waits.attempts(key) is not None), what="waiting for pod-0", within=30)

            counter.reset()
            before = passes(operator)
            await asyncio.sleep(20)
            early, early_full = passes(operator) - before, full_passes(counter, "wait")
            await asyncio.sleep(25)
            counter.reset()
            before = passes(operator)
            await asyncio.sleep(25)
            late, late_full = passes(operator) - before, full_passes(counter, "wait")
            late_writes = writes(counter)
            print(
                f"passes of a waiting cluster: {early} ({early_full} full) in its first 20 s, "
                f"{late} ({late_full} full) in 25 s after 45 s"
            )
            # a fixed 2 s requeue would be 10 passes in each window
            assert early >= 3
            assert late <= 2
            assert late < early
            # the early checks ask pod-0 alone; when the wait is a minute old it is news, and a full pass says so
            assert early_full == 0
            assert late_full >= 1
            # the wait is reported once, with one message, when it is a minute old (in this window): no status
            # write per check
            assert len(late_writes) <= 1
            assert all(m == "PATCH" and "/status" in p for m, p in late_writes)

            # any change of a pod brings a pass at once and starts the checks over: changed right after a check,
            # when the next one is a minute away
            await eventually(lambda: _is((waits.attempts(key) or 0) >= 7), what="the check after 64 s", within=40)
            # a minute without an answer is news: status says so (once; the message stays as long as the wait)
            cluster = await eventually(lambda: _reported(client, namespace), what="the wait reported", within=10)
            degraded = condition(cluster, "Degraded")
            assert "asks again within 60 s" in degraded.get("message", "")
            started = time.monotonic()
            # NB: a change of what the operator keeps of a pod (a label); an annotation alone is no news to it
            patch = {"metadata": {"labels": {"example.com/touched": "yes"}}}
            await client.merge_patch(kinds.POD, "wait-0", patch, namespace=namespace)
            await eventually(lambda: _is((waits.attempts(key) or 0) <= 1), what="checks started over", within=10)
            print(f"checks started over {time.monotonic() - started:.2f} s after the pod changed")
    finally:
        await client.close()


async def _reported(client: kube.KubeClient, namespace: str) -> dict[str, Any] | None:
    cluster = await get_or_none(client, kinds.CLUSTER, "wait", namespace)
    return cluster if condition(cluster, "Degraded").get("reason") == REASON else None


async def _is(value: bool) -> bool | None:
    return True if value else None
