"""Lease election between two electors on the real API server: one leads; when the leader can no longer
renew (its connection is cut, as for a crashed or partitioned pod) it stops within the renew deadline,
and the other takes over within the lease duration, never overlapping; a clean stop hands over at once.

Timings are shortened (lease 3 s, renew 2 s, retry 0.5 s) to keep the test quick; the ratios are
client-go's (15/10/2 would take five times as long, with identical logic).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from typing import Any

import httpx2
import pytest

from openbao_operator import kube
from openbao_operator.runtime import LeaderElector, LeadershipLost, LeaseConfig
from openbao_operator.runtime.leader import LEASE
from tests.integration.kubehelp import KubeClients, eventually
from tests.peers.controlplane import ControlPlane

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

LEASE_S, RENEW_S, RETRY_S = 3.0, 2.0, 0.5


class Cable:
    """Cuts a client's connection on demand (the fault), in front of the real transport."""

    def __init__(self) -> None:
        self.cut = False

    def __call__(self, request: httpx2.Request) -> None:
        if self.cut:
            raise httpx2.ConnectError("cable cut", request=request)


def _elector(client: kube.KubeClient, namespace: str, identity: str, seed: int) -> LeaderElector:
    config = LeaseConfig(
        name="op-lock",
        namespace=namespace,
        identity=identity,
        lease_duration=LEASE_S,
        renew_deadline=RENEW_S,
        retry_period=RETRY_S,
    )
    return LeaderElector(client, config, rng=random.Random(seed))


class Leadership:
    """Records when each identity started and stopped leading (loop time)."""

    def __init__(self) -> None:
        self.spans: dict[str, list[float]] = {}

    def work(self, identity: str) -> Callable[[], Coroutine[Any, Any, None]]:
        loop = asyncio.get_running_loop()

        async def lead() -> None:
            self.spans[identity] = [loop.time()]
            try:
                await asyncio.Event().wait()
            finally:
                self.spans[identity].append(loop.time())

        return lead


async def test_one_leads_and_the_other_takes_over_when_it_dies(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    loop = asyncio.get_running_loop()
    cable = Cable()
    client_a = kube.connect(control_plane.admin_kubeconfig, wrap_transport=lambda t: kube.ObservedTransport(t, cable))
    client_b = kube_clients()
    a, b = _elector(client_a, namespace, "a", 1), _elector(client_b, namespace, "b", 2)
    record = Leadership()
    task_a = asyncio.create_task(a.run(record.work("a")))
    try:
        await eventually(lambda: _is(a.is_leader), what="a to lead")
        task_b = asyncio.create_task(b.run(record.work("b")))
        await asyncio.sleep(LEASE_S * 1.5)
        assert a.is_leader
        assert not b.is_leader, "b must not take a lease that a keeps renewing"
        assert "b" not in record.spans

        cut_at = loop.time()
        cable.cut = True
        with pytest.raises(LeadershipLost):
            await asyncio.wait_for(task_a, RENEW_S + 2 * RETRY_S + 1)
        a_stopped = record.spans["a"][1]
        assert a_stopped - cut_at <= RENEW_S + 2 * RETRY_S + 0.5

        await eventually(lambda: _is("b" in record.spans), what="b to take over", within=LEASE_S * 3)
        b_started = record.spans["b"][0]
        assert b_started > a_stopped, "never two leaders at once"
        assert b_started - cut_at <= LEASE_S + RENEW_S + 2 * RETRY_S, "takeover within the lease duration"

        lease = await client_b.get(LEASE, "op-lock", namespace=namespace)
        assert lease["spec"]["holderIdentity"] == "b"
        assert lease["spec"]["leaseTransitions"] == 1
        task_b.cancel()
        await asyncio.gather(task_b, return_exceptions=True)
    finally:
        task_a.cancel()
        await asyncio.gather(task_a, return_exceptions=True)
        await client_a.close()


async def test_a_clean_stop_releases_the_lease_at_once(kube_clients: KubeClients, namespace: str) -> None:
    loop = asyncio.get_running_loop()
    client_a, client_b = kube_clients(), kube_clients()
    a, b = _elector(client_a, namespace, "a", 3), _elector(client_b, namespace, "b", 4)
    record = Leadership()
    task_a = asyncio.create_task(a.run(record.work("a")))
    await eventually(lambda: _is(a.is_leader), what="a to lead")
    task_b = asyncio.create_task(b.run(record.work("b")))
    await asyncio.sleep(RETRY_S * 2)
    stopped_at = loop.time()
    task_a.cancel()
    await asyncio.gather(task_a, return_exceptions=True)
    lease = await client_b.get(LEASE, "op-lock", namespace=namespace)
    assert not lease["spec"].get("holderIdentity"), "released on a clean stop"
    await eventually(lambda: _is(b.is_leader), what="b to take the released lease", within=LEASE_S)
    assert record.spans["b"][0] - stopped_at < LEASE_S, "a released lease is taken without waiting it out"
    task_b.cancel()
    await asyncio.gather(task_b, return_exceptions=True)


async def _is(value: bool) -> bool:
    return value
