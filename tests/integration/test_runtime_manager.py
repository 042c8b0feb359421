"""A whole runtime process against the real API server: probes, metrics, informer → queue → reconcile,
leader election, Events with aggregation, and a graceful shutdown that releases the lease."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from openbao_operator import kube
from openbao_operator.kube import ObjectKey
from openbao_operator.runtime import EventRecorder, LeaseConfig, Manager, OwnerMapper, Result, enqueue_owner
from openbao_operator.runtime.leader import LEASE
from tests.integration.kubehelp import KubeClients, configmap, eventually

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CM = kube.resource_type("v1", "ConfigMap")
EVENT = kube.resource_type("events.k8s.io/v1", "Event")


async def _get(session: aiohttp.ClientSession, port: int, path: str) -> tuple[int, str]:
    async with session.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, await response.text()


async def test_manager_runs_reconciles_and_shuts_down_cleanly(kube_clients: KubeClients, namespace: str) -> None:
    client = kube_clients()
    registry = CollectorRegistry()
    lease = LeaseConfig(
        name="mgr", namespace=namespace, identity="pod-1", lease_duration=3, renew_deadline=2, retry_period=0.5
    )
    manager = Manager(client, registry=registry, rng=random.Random(9), lease=lease, host="127.0.0.1", port=0)
    reconciled: list[ObjectKey] = []

    async def reconcile(key: ObjectKey) -> Result:
        reconciled.append(key)
        return Result()

    queue = manager.queue("parents")
    # Children name their parent by label, as PVCs made from claim templates do.
    mapper = OwnerMapper(owner_group="example.org", owner_kind="Parent", label="example.org/parent")
    manager.informer(CM, namespace=namespace).add_handler(enqueue_owner(queue, mapper))
    manager.controller("parents", reconcile, queue, workers=2)
    await client.create(configmap(namespace, "child-1", {}, labels={"example.org/parent": "p1"}))

    stop = asyncio.Event()
    run = asyncio.create_task(manager.run(stop))
    try:
        async with aiohttp.ClientSession() as session:
            await eventually(lambda: _ready(session, manager), what="/readyz to pass after the caches synced")
            assert (await _get(session, manager.server.port, "/healthz"))[0] == 200
            await eventually(lambda: _is(ObjectKey(namespace, "p1") in reconciled), what="the initial reconcile")
            await client.create(configmap(namespace, "child-2", {}, labels={"example.org/parent": "p2"}))
            await eventually(lambda: _is(ObjectKey(namespace, "p2") in reconciled), what="a reconcile from a watch")
            status, metrics = await _get(session, manager.server.port, "/metrics")
            assert status == 200
            assert 'controller_runtime_reconcile_total{controller="parents",result="success"}' in metrics
            assert 'workqueue_adds_total{name="parents"}' in metrics
            assert 'leader_election_master_status{name="mgr"} 1.0' in metrics
            held = await client.get(LEASE, "mgr", namespace=namespace)
            assert held["spec"]["holderIdentity"] == "pod-1"
        stop.set()
        await asyncio.wait_for(run, 10)
        released = await client.get(LEASE, "mgr", namespace=namespace)
        assert not released["spec"].get("holderIdentity")
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)


async def _ready(session: aiohttp.ClientSession, manager: Manager) -> bool:
    if not manager.server.port:
        return False
    try:
        status, _ = await _get(session, manager.server.port, "/readyz")
    except aiohttp.ClientConnectionError:
        return False
    return status == 200


async def _is(value: bool) -> bool:
    return value


async def test_events_are_recorded_and_repeats_aggregated(kube_clients: KubeClients, namespace: str) -> None:
    counter = kube.RequestCounter()
    client = kube_clients(counter)
    recorder = EventRecorder(client, controller="example.org/test-operator", instance="pod-1")
    regarding: dict[str, Any] = await client.create(configmap(namespace, "subject", {}))
    for _ in range(3):
        await recorder.record(regarding, type="Warning", reason="Stuck", action="Reconcile", note="waiting")
    await recorder.record(regarding, type="Normal", reason="Created", action="Create", note="made it")
    events = (await client.list(EVENT, namespace=namespace)).items
    by_reason = {e["reason"]: e for e in events}
    assert sorted(by_reason) == ["Created", "Stuck"]
    stuck = by_reason["Stuck"]
    assert stuck["series"]["count"] == 3
    assert stuck["regarding"]["uid"] == regarding["metadata"]["uid"]
    assert stuck["reportingController"] == "example.org/test-operator"
    assert counter.by_method["POST"] == 3  # the ConfigMap and two Events; repeats are PATCHes
    assert counter.by_method["PATCH"] == 2
