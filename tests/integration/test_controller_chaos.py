"""The operator as a real process: SIGKILLed at random points 20 times, and two replicas with one leader.

Both run ``python -m openbao_operator.cli run`` with the ServiceAccount kubeconfig of deploy/'s RBAC, as a
Deployment's pod would. Randomness is seeded, so a failure replays with the same kill points.
"""

from __future__ import annotations

import asyncio
import random
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from openbao_operator import kube
from openbao_operator.api import parse_cluster
from openbao_operator.controller import kinds
from openbao_operator.render.desired import render_desired
from openbao_operator.render.facts import RenderFacts
from openbao_operator.runtime.leader import LEASE
from tests.integration.kubehelp import KubeClients, eventually
from tests.integration.operatorhelp import cluster_manifest, condition, converged, crd, get_or_none
from tests.peers.controlplane import ControlPlane
from tests.peers.deploy import install_operator, operator_process
from tests.peers.procs import PeerProcess

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

SEED = 20261127
KILLS = 20


async def _keys(client: kube.KubeClient, namespace: str, names: list[str]) -> dict[str, tuple[str, str]]:
    out = {}
    for name in names:
        secret = await get_or_none(client, kinds.SECRET, f"{name}-unseal-key", namespace)
        if secret is not None:
            out[name] = (secret["metadata"]["uid"], secret["data"]["key"])
    return out


async def _children(client: kube.KubeClient, namespace: str, name: str) -> int:
    count = 0
    for rt in (kinds.CONFIGMAP, kinds.SERVICE, kinds.STATEFULSET, kinds.SERVICEACCOUNT, kinds.NETWORKPOLICY):
        count += len((await client.list(rt, namespace=namespace, labels={kinds.CLUSTER_LABEL: name})).items)
    return count


async def _in_sync(client: kube.KubeClient, name: str, namespace: str) -> bool:
    """Converged, and the ConfigMap and pod template carry exactly what the spec renders to."""
    cluster = await converged(client, name, namespace)
    if cluster is None or condition(cluster, "Degraded").get("status") != "False":
        return False
    model = parse_cluster(cluster)
    facts = RenderFacts(namespace=namespace, owner_uid=cluster["metadata"]["uid"], initialized=False)
    desired = render_desired(model, facts=facts)
    cm = await get_or_none(client, kinds.CONFIGMAP, f"{name}-config", namespace)
    sts = await get_or_none(client, kinds.STATEFULSET, name, namespace)
    if cm is None or sts is None:
        return False
    hash_now = sts["spec"]["template"]["metadata"]["annotations"].get("openbao.org/config-hash")
    return bool(cm["data"].get("config.hcl") == desired.config.text and hash_now == desired.config_hash)


@pytest.mark.timeout(420)
async def test_sigkill_at_random_points_always_converges_and_keeps_the_key(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str, tmp_path: Path, peer_logs: Path
) -> None:
    rng = random.Random(SEED)
    identity = install_operator(
        control_plane, namespace=namespace, mode="cluster", suffix=namespace, tenants=(namespace,)
    )
    client = kube_clients(field_manager="test-user")
    names: list[str] = []
    specs: dict[str, dict[str, Any]] = {}
    first_keys: dict[str, tuple[str, str]] = {}
    proc: PeerProcess | None = None
    try:
        for i in range(KILLS):
            proc, port = operator_process(
                identity, workdir=tmp_path, logs=peer_logs, name="chaos-operator", resync_seconds=5
            )
            proc.start()
            # The process needs ~2 s to import; kill points are drawn from the time it actually works.
            await eventually(_probe_ready(port), what="operator ready", within=30, interval=0.05)
            if i < 8 or not names:
                name = f"k{i}"
                names.append(name)
                specs[name] = {"replicas": rng.choice([1, 3]), "configuration": {"logLevel": "info"}}
                action = f"create {name}"
            else:
                name = rng.choice(names)
                change = rng.choice(["logLevel", "replicas", "restartAt", "ingress"])
                spec = specs[name]
                if change == "logLevel":
                    spec["configuration"] = {"logLevel": rng.choice(["debug", "info", "warn"])}
                elif change == "replicas":
                    spec["replicas"] = rng.choice([1, 3, 5])
                elif change == "restartAt":
                    spec["maintenance"] = {"restartAt": f"t{i}"}
                else:
                    spec["ingress"] = {"enabled": rng.random() < 0.5, "host": f"{name}.example.com"}
                action = f"update {name}.{change}"
            await client.apply(cluster_manifest(name, namespace, **specs[name]))
            delay = rng.uniform(0.0, 0.8)
            await asyncio.sleep(delay)
            proc.kill()
            made = await _children(client, namespace, name)
            keys = await _keys(client, namespace, names)
            for cluster_name, key in keys.items():
                seen = first_keys.setdefault(cluster_name, key)
                assert key == seen, f"kill {i} ({action} after {delay:.2f}s): the unseal key of {cluster_name} changed"
            print(
                f"kill {i:2d}: {action:<24} SIGKILL after {delay:.2f}s; {made} objects of {name} by then; "
                f"{len(keys)} keys unchanged"
            )

        proc, _ = operator_process(identity, workdir=tmp_path, logs=peer_logs, name="chaos-operator", resync_seconds=5)
        proc.start()
        started = time.monotonic()
        for name in names:
            await eventually(_probe_in_sync(client, name, namespace), what=f"{name} converged", within=90)
        print(f"all {len(names)} clusters converged {time.monotonic() - started:.1f}s after the last restart")
        final = await _keys(client, namespace, names)
        assert set(final) == set(names), "every cluster has its unseal key"
        for name, key in final.items():
            assert key == first_keys.get(name, key), f"the unseal key of {name} changed"
    finally:
        if proc is not None:
            proc.stop(grace=10)
        for name in names:
            await _drop(client, name, namespace)


def _probe_in_sync(client: kube.KubeClient, name: str, namespace: str) -> Any:
    async def probe() -> bool:
        return await _in_sync(client, name, namespace)

    return probe


async def _drop(client: kube.KubeClient, name: str, namespace: str) -> None:
    """Remove the cluster without an operator (finalizer cleared) so the namespace can go."""
    try:
        await client.merge_patch(kinds.CLUSTER, name, {"metadata": {"finalizers": None}}, namespace=namespace)
        await client.delete(kinds.CLUSTER, name, namespace=namespace)
    except kube.NotFound:
        return


def _metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def _holder(client: kube.KubeClient, namespace: str) -> str | None:
    lease = await get_or_none(client, LEASE, "openbao-operator", namespace)
    return ((lease or {}).get("spec") or {}).get("holderIdentity") or None


@pytest.mark.timeout(180)
async def test_two_replicas_one_leads_and_a_killed_leader_hands_over(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str, tmp_path: Path, peer_logs: Path
) -> None:
    lease = (4.0, 3.0, 0.5)
    identity = install_operator(
        control_plane, namespace=namespace, mode="namespace", watch=(namespace,), suffix=namespace
    )
    client = kube_clients(field_manager="test-user")
    a, port_a = operator_process(identity, workdir=tmp_path, logs=peer_logs, name="replica-a", lease=lease)
    b, port_b = operator_process(identity, workdir=tmp_path, logs=peer_logs, name="replica-b", lease=lease)
    try:
        a.start()
        await eventually(lambda: _is(_holder(client, namespace), "replica-a"), what="replica-a leads", within=30)
        b.start()
        await eventually(lambda: _ready(port_b), what="replica-b ready (caches synced)", within=30)
        await client.apply(cluster_manifest("ha", namespace, replicas=1))
        await eventually(lambda: converged(client, "ha", namespace), what="converged by the leader", within=30)
        await asyncio.sleep(2)
        assert _metric(port_a, "controller_runtime_reconcile_total") > 0
        assert _metric(port_b, "controller_runtime_reconcile_total") == 0, "the standby reconciled"
        assert _metric(port_b, "leader_election_master_status") == 0

        killed = time.monotonic()
        a.kill()
        await eventually(lambda: _is(_holder(client, namespace), "replica-b"), what="replica-b leads", within=15)
        handover = time.monotonic() - killed
        print(f"handover after SIGKILL of the leader: {handover:.2f}s (lease duration {lease[0]:.0f}s)")
        assert handover <= lease[0] + 2 * lease[2] + 1.0

        await client.apply(cluster_manifest("ha", namespace, replicas=1, configuration={"logLevel": "debug"}))
        await eventually(lambda: converged(client, "ha", namespace), what="converged by the new leader", within=30)
        assert _metric(port_b, "controller_runtime_reconcile_total") > 0
    finally:
        a.stop(grace=10)
        b.stop(grace=10)
        await _drop(client, "ha", namespace)


async def _is(value: Any, expected: str) -> bool:
    return bool(await value == expected)


def _readyz(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


async def _ready(port: int) -> bool:
    return await asyncio.to_thread(_readyz, port)


def _probe_ready(port: int) -> Any:
    async def probe() -> bool:
        return await _ready(port)

    return probe
