"""An operator SIGKILLed at random points of a rolling upgrade resumes it: one leadership change, one pod at a time.

Real peers all the way: pods run the released `bao` 2.6.2 and 2.7.2 binaries (node agent), and the operator
runs as a real process (``openbao-operator run`` with deploy/ RBAC and lease timings). A 3-node cluster with a
stored root token (the operator steps the active node down with it) is upgraded 2.6.2 -> 2.7.2. While it
upgrades, the operator is SIGKILLed and restarted at once after each kill, as its container would be
restarted in the same pod: the same identity (the pod name), so it takes its lease back at once. The first
kill lands right after the spec change; then, in cycles, ``STARTING_PER_CYCLE`` kills land 0.2-0.8 s after a
restart, before the process leads (a crash loop, during which the upgrade waits), and one 0.1-2.5 s after it
leads (mostly within its first pass: reading pods, stepping down, deleting, writing status), half of those at the
moment the upgrade enters a phase no kill has hit yet (waited for, bounded). Kills are thus
0.3-5 s apart and land in different phases of the upgrade (a pod being deleted or starting, the health
gate waiting, just before the active node's step-down); each kill is printed with the operator's state and the
upgrade's phase. The kills stop once the upgrade completed; fewer than ``KILLS`` (or fewer than 3 on a leading
operator) fails: the kills must be more frequent then, not fewer.

A poller (tests/integration/upgradewatch.py, every 0.2 s) records each pod's incarnations and the active pod.
Asserted: exactly one leadership change; no two pods out of service at once (no sample with two pods missing,
terminating or not Ready, and the replacement windows, deletion to the new pod Ready, never overlap); each pod
replaced exactly once, the old leader last; every pod on 2.7.2 (sys/health); status.upgrade Completed and
currentVersion 2.7.2; a secret written before is read after. The seed is printed (``UPGRADE_KILL_SEED``
replays a run).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from openbao_operator import kube
from openbao_operator.controller import kinds
from openbao_operator.runtime.leader import LEASE
from tests.integration.kubehelp import KubeClients, eventually
from tests.integration.operatorhelp import condition, crd, get_or_none
from tests.integration.test_controller_chaos import _drop, _metric, _probe_ready
from tests.integration.test_rollout_e2e import (
    _secret,
    agent_view,
    check_one_raft_cluster,
    wait_available,
)
from tests.integration.upgradewatch import UpgradeTimeline
from tests.peers.controlplane import ControlPlane
from tests.peers.deploy import OperatorIdentity, install_operator, operator_process
from tests.peers.nodeagent import NodeAgent
from tests.peers.procs import PeerProcess
from tests.unit.render.config_cases import manifest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900), pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

KILLS = 10
SEED = int(os.environ.get("UPGRADE_KILL_SEED", "20261203"))
FROM, TO = "2.6.2", "2.7.2"
UPGRADE_WITHIN = 480.0
"""Bound for the whole upgrade, kills included."""
STARTING_PER_CYCLE = 3
"""Kills of the restarted process before it leads (a crash loop: the upgrade waits) between two kills of a leading
one. Each leading window moves the upgrade by about one step (a pod replaced, or the completion), and a 3-pod
upgrade has at least 4 of them, so this gives at least 1 + 3 x 4 = 13 kills however fast the machine is."""
IDENTITY = "upgrade-operator-0"
"""The pod name of the operator's leading replica: a SIGKILLed container restarts in the same pod."""


class Operator:
    """The leading operator replica's container: SIGKILLed and restarted in place. Its identity (the pod name)
    stays, so the restarted process takes its own lease back at once (deploy/operator.yaml's lease timings)."""

    def __init__(self, identity: OperatorIdentity, client: kube.KubeClient, *, workdir: Path, logs: Path) -> None:
        self.identity, self.client, self.workdir, self.logs = identity, client, workdir, logs
        self.current: PeerProcess | None = None
        self.starts = 0

    async def holder(self) -> str | None:
        lease = await get_or_none(self.client, LEASE, "openbao-operator", self.identity.namespace)
        return ((lease or {}).get("spec") or {}).get("holderIdentity") or None

    def spawn(self) -> int:
        """Start the process (after a kill: the container's restart); returns its probe port."""
        proc, port = operator_process(
            self.identity, workdir=self.workdir, logs=self.logs, name=IDENTITY, resync_seconds=10
        )
        proc.start()
        self.current, self.starts = proc, self.starts + 1
        return port

    async def leading(self, port: int) -> None:
        """Wait until the process is ready (caches synced) and leads (its controllers run)."""
        await eventually(_probe_ready(port), what="operator ready", within=60, interval=0.05)

        async def leads() -> bool:
            master = await asyncio.to_thread(_metric, port, "leader_election_master_status")
            return master == 1 and await self.holder() == IDENTITY

        await eventually(leads, what="the operator leads", within=30, interval=0.05)

    async def kill(self) -> None:
        if self.current is not None:
            await asyncio.to_thread(self.current.kill)

    async def stop(self) -> None:
        if self.current is not None:
            await asyncio.to_thread(self.current.stop, grace=10)


async def _completed(client: kube.KubeClient, namespace: str, name: str) -> dict[str, Any] | None:
    obj = await client.get(kinds.CLUSTER, name, namespace=namespace)
    return obj if ((obj.get("status") or {}).get("upgrade") or {}).get("phase") == "Completed" else None


async def test_sigkilled_operator_resumes_the_upgrade_without_a_second_leadership_change(
    control_plane: ControlPlane,
    kube_clients: KubeClients,
    node_agent: NodeAgent,
    namespace: str,
    tmp_path: Path,
    peer_logs: Path,
) -> None:
    rng = random.Random(SEED)
    print(f"\nseed {SEED} (UPGRADE_KILL_SEED={SEED} replays these kill points)")
    node_agent.adopt_namespace(namespace)
    name = "upk"
    identity = install_operator(
        control_plane, namespace=namespace, mode="cluster", suffix=namespace, tenants=(namespace,)
    )
    client = kube_clients(field_manager="test-user")
    operator = Operator(identity, client, workdir=tmp_path, logs=peer_logs)
    doc = manifest(name=name, namespace=namespace, replicas=3, version=FROM)
    stop = asyncio.Event()
    timeline = UpgradeTimeline(client, namespace, name)
    watcher: asyncio.Task[None] | None = None
    try:
        await operator.leading(operator.spawn())
        await client.apply(doc)
        await wait_available(client, namespace, name, within=240)
        token = await _secret(client, namespace, f"{name}-root-token", "token")
        c = await agent_view(control_plane, node_agent, client, doc, tmp_path, peer_logs)
        leader = await check_one_raft_cluster(c, client, token, replicas=3)
        await asyncio.to_thread(c.bao, leader, "secrets", "enable", "-path=kv", "kv-v2", token=token)
        await asyncio.to_thread(c.bao, leader, "kv", "put", "kv/upgrade", "written=before", token=token)

        watcher = asyncio.create_task(timeline.run(stop))
        await eventually(lambda: _is(timeline.actives == [leader]), what="the poller sees the leader", within=10)

        changed = time.monotonic()
        await client.apply(manifest(name=name, namespace=namespace, replicas=3, version=TO))
        state = "leading (right after the change)"
        kills: list[tuple[float, str, str]] = []  # (since the change, the operator's state, the upgrade's phase)
        restarts: list[float] = []
        starting_in_row = 0
        deadline = changed + UPGRADE_WITHIN
        await asyncio.sleep(rng.uniform(0.0, 0.3))  # right after the change
        while timeline.completed_at is None and time.monotonic() < deadline:
            await operator.kill()
            at = time.monotonic()
            kills.append((at - changed, state, timeline.phase_at(at)))
            port = operator.spawn()
            if starting_in_row < STARTING_PER_CYCLE:
                starting_in_row += 1
                delay = rng.uniform(0.2, 0.8)
                state = f"starting ({delay:.2f} s after the restart)"
                await asyncio.sleep(delay)
            else:
                starting_in_row = 0
                restart_at = time.monotonic()
                await operator.leading(port)
                restarts.append(time.monotonic() - restart_at)
                hit = {p.split(":")[0] for _, _, p in kills}
                if rng.random() < 0.5 and (fresh := await _new_phase(timeline, hit, within=rng.uniform(1.0, 3.0))):
                    # NB: half the kills on a leading operator wait (bounded) for a phase no kill has hit yet, so
                    # the kills spread over the upgrade however fast its phases go by on this machine
                    state = f"leading (as {fresh} began)"
                else:
                    delay = rng.uniform(0.1, 1.0) if rng.random() < 0.7 else rng.uniform(1.0, 2.5)
                    state = f"leading ({delay:.2f} s after it led)"
                    await asyncio.sleep(delay)
        done = await eventually(lambda: _completed(client, namespace, name), what="status.upgrade Completed", within=60)
        upgrade_s = (timeline.completed_at or time.monotonic()) - changed
        await asyncio.sleep(2)  # the final labels
        stop.set()
        await asyncio.wait_for(watcher, 10)

        for i, (since, state_then, phase) in enumerate(kills):
            print(f"kill {i + 1:2d}: {since:6.1f} s after the change, the operator {state_then}, during {phase}")
        print(
            f"upgrade {FROM} -> {TO} took {upgrade_s:.1f} s with {len(kills)} SIGKILLs; restart to leading "
            f"{min(restarts, default=0):.1f}-{max(restarts, default=0):.1f} s; actives {timeline.actives}"
        )
        for pod_name, t0, t1 in timeline.windows():
            end = f"{t1 - changed:.1f}" if t1 is not None else "never"
            print(f"  {pod_name}: out of service {t0 - changed:.1f} s -> {end} s")

        print(f"  the gate waited for: {timeline.gate_waits()}")
        print(f"  phases hit: {sorted({p.split(':')[0] for _, _, p in kills})}")
        assert len(kills) >= KILLS, f"only {len(kills)} kills before the upgrade completed: kill more often"
        working = [k for k in kills if k[1].startswith("leading")]
        assert len(working) >= 3, f"only {len(working)} kills hit a leading operator"
        phases = {p.split(":")[0] for _, _, p in kills} - {"completed"}
        assert len(phases) >= 3, f"the kills fell into too few phases: {sorted(phases)}"
        assert timeline.actives[0] == leader
        assert len(timeline.actives) == 2, f"exactly one leadership change: {timeline.actives}"
        double = [s for s in timeline.samples if len(s.unavailable) > 1]
        assert not double, f"two pods out of service at once: {[(s.at - changed, s.unavailable) for s in double]}"
        assert timeline.overlaps() == [], timeline.windows()
        replaced = [pod_name for pod_name, _, _ in timeline.replacements()]
        assert sorted(replaced) == sorted(c.pod(i) for i in range(3)), replaced
        assert replaced[-1] == leader, (replaced, leader)
        assert all(t1 is not None for _, _, t1 in timeline.windows())

        up = done["status"]["upgrade"]
        assert (up["fromVersion"], up["targetVersion"]) == (FROM, TO)
        assert [(p["name"], p["state"], p["version"]) for p in up["pods"]] == [
            (c.pod(i), "Healthy", TO) for i in range(3)
        ]
        assert done["status"]["currentVersion"] == TO
        assert condition(done, "Upgrading").get("reason") == "UpgradeCompleted"
        assert done["status"].get("operationLock") is None
        for i in range(3):
            health = await asyncio.to_thread(
                c.bao, c.pod(i), "read", "-format=json", "sys/health", "standbyok=true", check=False
            )
            assert json.loads(health.stdout)["data"]["version"] == TO, (c.pod(i), health.stdout, health.stderr)
        new_leader = await check_one_raft_cluster(c, client, token, replicas=3)
        assert new_leader == timeline.actives[-1]
        got = await asyncio.to_thread(c.bao, new_leader, "kv", "get", "-field=written", "kv/upgrade", token=token)
        assert got.stdout.strip() == "before"
    finally:
        stop.set()
        if watcher is not None and not watcher.done():
            watcher.cancel()
        await operator.stop()
        await _drop(client, name, namespace)


async def _new_phase(timeline: UpgradeTimeline, hit: set[str], *, within: float) -> str | None:
    """Wait up to ``within`` seconds for the upgrade to be in a phase no kill has hit yet (not completed)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and timeline.completed_at is None:
        phase = timeline.phase_at(time.monotonic()).split(":")[0]
        if phase not in hit and phase not in ("completed", "before-first-sample"):
            return phase
        await asyncio.sleep(0.05)
    return None


async def _is(value: bool) -> bool:
    return value
