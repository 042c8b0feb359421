"""Rolling OpenBao upgrades end to end (issue 19): the operator in this event loop, a 3-node cluster whose pods
run real released ``bao`` builds on the node agent (the image tag picks the binary), a client writing and
reading a new kv secret every 100 ms against the pods' API throughout (tests/integration/upgradehelp.py).

Proven:
- 2.6.2 -> 2.7.2 under load, with ``spec.upgrade.preUpgradeSnapshot`` and ``spec.backup`` to MinIO: status.upgrade
  goes PreUpgradeSnapshot -> Rolling -> Completed; the snapshot the executor Job stored (status.upgrade.snapshot)
  is in the bucket and not empty; every pod then answers sys/health with 2.7.2 and currentVersion moves from
  2.6.2 to 2.7.2 (only at the end); exactly one leadership change; never more than one pod out (missing,
  terminating or not Ready) at a time; every write acknowledged before, during and after is read back with its
  value afterwards, and the writer kept being acknowledged during the upgrade (counts and the longest gap are
  printed); no token in an Event.
- A broken target (the pinned build that exits 1 at start) with ``autoRollback``: exactly one pod incarnation
  ever gets the broken image; the gate stops on it (CrashLooping from its restartCount, or another of the
  gate's reasons), a Warning Event UpgradeStopped and the Upgrading condition name that pod and the reason;
  the other two pods keep serving (writes are acknowledged while the broken pod crashes); the upgraded pod is
  rolled back (phase RolledBack), all 3 pods run 2.7.2 and are Ready, no acknowledged write is lost and
  currentVersion stays 2.7.2 throughout.
- The same without ``autoRollback``: phase Stopped, the Upgrading and Degraded conditions name the pod and the
  reason, and no pod is touched for 20 s of polling while writes go on; setting spec.version back to 2.7.2
  rolls the broken pod back (RolledBack), with no acknowledged write lost.

The numbers (durations, writer counts) are printed with ``-s``.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from openbao_operator import kube
from openbao_operator.cli.operator import Operator
from openbao_operator.controller import kinds
from tests.integration.agent_cluster import AgentCluster
from tests.integration.backuphelp import target_for
from tests.integration.kubehelp import KubeClients, eventually
from tests.integration.operatorhelp import condition, crd, running_operator
from tests.integration.test_rollout_e2e import agent_view, check_one_raft_cluster, wait_available, watching
from tests.integration.upgradehelp import Monitor, Writer, monitoring, pod_address, snapshot_size
from tests.peers import pins
from tests.peers.controlplane import ControlPlane
from tests.peers.nodeagent import NodeAgent
from tests.peers.objstore import ObjectStorePeer
from tests.unit.render.config_cases import manifest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900), pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

EVENT = kube.resource_type("events.k8s.io/v1", "Event")
OLD, NEW = "2.6.2", "2.7.2"
BROKEN = str(pins.load_pins()[pins.BROKEN]["tag"])
IMAGE = "quay.io/openbao/openbao:{}"
CREDENTIALS = "store-creds"
GATE_REASONS = ("CrashLooping", "HealthTimeout", "WrongVersion", "Unreachable", "Sealed", "NotJoined")
"""The gate's stop reasons a build that exits at start can give (CrashLooping expected: 3 restarts)."""
GATE_TIMEOUT = 45.0
"""The operator's rollout_ready_timeout (the gate's bound per pod) in the broken-version tests."""
MIN_ACKED_DURING_UPGRADE = 50
MIN_ACKED_DURING_STOP = 20


async def _root_token(client: kube.KubeClient, namespace: str, name: str) -> str:
    obj = await client.get(kinds.SECRET, f"{name}-root-token", namespace=namespace)
    return base64.b64decode(obj["data"]["token"]).decode()


async def _cluster(client: kube.KubeClient, namespace: str, name: str) -> dict[str, Any]:
    return await client.get(kinds.CLUSTER, name, namespace=namespace)


async def _events(client: kube.KubeClient, namespace: str) -> list[dict[str, Any]]:
    return list((await client.list(EVENT, namespace=namespace)).items)


def _notes(events: list[dict[str, Any]], reason: str, *, type_: str | None = None) -> list[str]:
    return [
        str(e.get("note") or "")
        for e in events
        if e.get("reason") == reason and (type_ is None or e.get("type") == type_)
    ]


async def _set_version(client: kube.KubeClient, namespace: str, name: str, version: str) -> None:
    await client.merge_patch(kinds.CLUSTER, name, {"spec": {"version": version}}, namespace=namespace)


async def _phase(client: kube.KubeClient, namespace: str, name: str, phase: str) -> dict[str, Any] | None:
    obj = await _cluster(client, namespace, name)
    return obj if ((obj.get("status") or {}).get("upgrade") or {}).get("phase") == phase else None


async def _all_on(client: kube.KubeClient, namespace: str, name: str, version: str) -> bool:
    """Three pods, none terminating, all Ready, all with ``version``'s image."""
    found = await client.list(kinds.POD, namespace=namespace, labels={"app.kubernetes.io/instance": name})
    pods = found.items
    return len(pods) == 3 and all(
        not p["metadata"].get("deletionTimestamp")
        and p["spec"]["containers"][0]["image"] == IMAGE.format(version)
        and _is_ready(p)
        for p in pods
    )


def _is_ready(pod: dict[str, Any]) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


async def _versions(c: AgentCluster) -> dict[str, str | None]:
    """sys/health's version of every pod."""
    out: dict[str, str | None] = {}
    for i in range(3):
        status = await asyncio.to_thread(c.status, c.pod(i))
        out[c.pod(i)] = None if status is None else str(status.get("version"))
    return out


@asynccontextmanager
async def _writing(c: AgentCluster, node_agent: NodeAgent, token: str) -> AsyncIterator[Writer]:
    pods = [pod_address(node_agent.pod_ip, c.namespace, c.name, c.pod(i)) for i in range(3)]
    writer = Writer(pods=pods, ca_file=c.ca_file, token=token).start()
    try:
        await eventually(lambda: _true(len(writer.acked) >= 20), what="20 writes acknowledged", within=60)
        yield writer
    finally:
        await asyncio.to_thread(writer.stop)


async def _true(value: bool) -> bool:
    return value


async def _no_write_lost(writer: Writer, leader: str) -> None:
    pod = next(p for p in writer.pods if p.name == leader)
    wrong = await asyncio.to_thread(writer.missing, pod)
    assert not wrong, f"{len(wrong)} acknowledged writes not read back: {sorted(wrong.items())[:10]}"
    assert writer.read_wrong == 0, writer.errors[-10:]


async def _prepared(
    client: kube.KubeClient,
    control_plane: ControlPlane,
    node_agent: NodeAgent,
    doc: dict[str, Any],
    tmp_path: Path,
    peer_logs: Path,
) -> tuple[AgentCluster, str, str]:
    """The cluster Available with kv-v2 at kv/: its agent view, the root token, the active pod."""
    namespace, name = doc["metadata"]["namespace"], doc["metadata"]["name"]
    await client.apply(doc)
    await wait_available(client, namespace, name, within=300)
    token = await _root_token(client, namespace, name)
    c = await agent_view(control_plane, node_agent, client, doc, tmp_path, peer_logs)
    leader = await check_one_raft_cluster(c, client, token, replicas=3)
    await asyncio.to_thread(c.bao, leader, "secrets", "enable", "-path=kv", "kv-v2", token=token)
    return c, token, leader


def _small_gate_timeout(op: Operator) -> None:
    op.reconciler.config = dataclasses.replace(op.reconciler.config, rollout_ready_timeout=GATE_TIMEOUT)


async def test_upgrade_under_load_keeps_every_acknowledged_write(
    control_plane: ControlPlane,
    kube_clients: KubeClients,
    node_agent: NodeAgent,
    minio: ObjectStorePeer,
    namespace: str,
    tmp_path: Path,
    peer_logs: Path,
) -> None:
    name = "upg"
    node_agent.adopt_namespace(namespace)
    port = urlsplit(minio.endpoint).port
    assert port is not None
    node_agent.forward_host_port(port)
    client = kube_clients(field_manager="test-user")
    target = target_for(minio)
    await client.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": CREDENTIALS, "namespace": namespace},
            "stringData": dict(minio.credentials),
        }
    )
    backup = {
        # a schedule never due during the test: only the pre-upgrade snapshot runs the executor
        "schedule": "0 0 1 1 *",
        "target": target | {"credentialsSecretRef": {"name": CREDENTIALS}},
        "tokenSecretRef": {"name": f"{name}-root-token"},
    }
    doc = manifest(
        name=name, namespace=namespace, replicas=3, version=OLD, backup=backup, upgrade={"preUpgradeSnapshot": True}
    )
    async with running_operator(control_plane, namespace, resync_seconds=30):
        c, token, leader = await _prepared(client, control_plane, node_agent, doc, tmp_path, peer_logs)
        assert set((await _versions(c)).values()) == {OLD}
        async with _writing(c, node_agent, token) as writer:
            async with (
                monitoring(client, namespace, name, replicas=3) as monitor,
                watching(client, namespace, name, leader=leader) as watcher,
            ):
                started = time.monotonic()
                await _set_version(client, namespace, name, NEW)
                obj = await eventually(
                    lambda: _phase(client, namespace, name, "Completed"),
                    what="status.upgrade Completed",
                    within=600,
                    interval=0.5,
                )
                ended = time.monotonic()
                await eventually(lambda: _all_on(client, namespace, name, NEW), what="3 Ready pods on 2.7.2")
            acked_at_end = len(writer.acked)
            await eventually(
                lambda: _true(len(writer.acked) >= acked_at_end + 20), what="20 writes after the upgrade", within=60
            )
        during = writer.acked_between(started, ended)
        counts = writer.counts(started, ended)
        snapshot_s = monitor.phase_at.get("Rolling", ended) - started

        up = obj["status"]["upgrade"]
        assert monitor.phases == ["PreUpgradeSnapshot", "Rolling", "Completed"], monitor.phases
        assert (up["fromVersion"], up["targetVersion"]) == (OLD, NEW)
        assert obj["status"]["currentVersion"] == NEW
        assert monitor.current_versions == [OLD, NEW], monitor.current_versions
        assert [(p["name"], p["state"], p["version"]) for p in up["pods"]] == [
            (c.pod(i), "Healthy", NEW) for i in range(3)
        ]
        assert await _versions(c) == {c.pod(i): NEW for i in range(3)}
        assert len(watcher.actives) == 2, watcher.actives  # exactly one leadership change
        assert sorted(p for _, p in watcher.replaced_at) == [c.pod(i) for i in range(3)], watcher.replaced_at
        assert monitor.max_out == 1, monitor.out_log
        assert up.get("snapshotJob", "").startswith(f"{name}-pre-upgrade-"), up
        size = await snapshot_size(minio, target, tmp_path, str(up["snapshot"]))
        assert size > 0, f"the pre-upgrade snapshot {up['snapshot']} is not in the bucket"

        new_leader = await check_one_raft_cluster(c, client, token, replicas=3)
        await _no_write_lost(writer, new_leader)
        assert during >= MIN_ACKED_DURING_UPGRADE, (during, counts, writer.errors[-10:])
        events = await _events(client, namespace)
        for reason in ("UpgradeStarted", "UpgradeSnapshotStarted", "UpgradeSnapshotTaken", "UpgradeCompleted"):
            assert _notes(events, reason), reason
        assert all(token not in str(e.get("note") or "") for e in events), "a token in an Event"
    print(
        f"\nupgrade {OLD} -> {NEW}: {ended - started:.1f} s (pre-upgrade snapshot {snapshot_s:.1f} s, "
        f"{size} bytes); acked {counts.acked} in all, {during} during the upgrade; failed attempts "
        f"{counts.failed_attempts}; longest gap without an acknowledged write during the upgrade "
        f"{counts.longest_gap_s} s; reads ok {counts.read_ok}, stale {counts.read_stale}; "
        f"actives {watcher.actives}; replaced {[p for _, p in watcher.replaced_at]}; writer notes {writer.errors[:20]}"
    )


async def _rolled_back(client: kube.KubeClient, namespace: str, name: str) -> dict[str, Any]:
    obj = await eventually(
        lambda: _phase(client, namespace, name, "RolledBack"),
        what="status.upgrade RolledBack",
        within=400,
        interval=0.5,
    )
    await eventually(lambda: _all_on(client, namespace, name, NEW), what="3 Ready pods on 2.7.2")
    return obj


async def _check_rolled_back(
    c: AgentCluster, client: kube.KubeClient, token: str, monitor: Monitor, writer: Writer, up: dict[str, Any]
) -> None:
    """After a stop on the broken build and its rollback: only the stopped pod ever got the broken image (the
    others were never touched), at most one pod out at a time, currentVersion 2.7.2 throughout, every pod on
    2.7.2 in one raft cluster, the stop named in a Warning Event and a condition, no token in an Event, no
    acknowledged write lost."""
    pod, reason = str(up["stoppedPod"]), str(up["reason"])
    assert reason in GATE_REASONS, up
    assert monitor.pods_with_image(IMAGE.format(BROKEN)) == [pod], monitor.images
    assert monitor.incarnations(pod) == 3, monitor.images  # 2.7.2, the broken build, 2.7.2 again
    for other in (c.pod(i) for i in range(3)):
        if other != pod:
            assert monitor.incarnations(other) == 1, f"{other} was touched: {monitor.images}"
    assert monitor.max_out == 1, monitor.out_log
    assert monitor.current_versions == [NEW], monitor.current_versions
    events = await _events(client, c.namespace)
    stops = _notes(events, "UpgradeStopped", type_="Warning")
    assert any(pod in n and reason in n for n in stops), stops
    named = [m for t, _, m in monitor.messages if t in ("Upgrading", "Degraded") and pod in m and reason in m]
    assert named, monitor.messages
    assert all(token not in str(e.get("note") or "") for e in events), "a token in an Event"
    assert await _versions(c) == {c.pod(i): NEW for i in range(3)}
    new_leader = await check_one_raft_cluster(c, client, token, replicas=3)
    await _no_write_lost(writer, new_leader)


async def test_a_broken_version_stops_after_one_pod_and_rolls_back(
    control_plane: ControlPlane,
    kube_clients: KubeClients,
    node_agent: NodeAgent,
    namespace: str,
    tmp_path: Path,
    peer_logs: Path,
) -> None:
    name = "brk"
    node_agent.adopt_namespace(namespace)
    client = kube_clients(field_manager="test-user")
    doc = manifest(name=name, namespace=namespace, replicas=3, version=NEW, upgrade={"autoRollback": True})
    async with running_operator(control_plane, namespace, resync_seconds=30) as op:
        _small_gate_timeout(op)
        c, token, leader = await _prepared(client, control_plane, node_agent, doc, tmp_path, peer_logs)
        async with _writing(c, node_agent, token) as writer, monitoring(client, namespace, name, replicas=3) as monitor:
            started = time.monotonic()
            await _set_version(client, namespace, name, BROKEN)
            obj = await _rolled_back(client, namespace, name)
            ended = time.monotonic()
        broken_at = monitor.first_seen_with(IMAGE.format(BROKEN))
        stop_at = monitor.phase_at.get("RollingBack")
        assert broken_at is not None
        assert stop_at is not None
        acked_while_broken = writer.acked_between(broken_at, ended)
        counts = writer.counts(broken_at, ended)

        up = obj["status"]["upgrade"]
        pod = str(up["stoppedPod"])
        assert pod != leader, "the active node is replaced last: the broken build never reaches it"
        assert (up["fromVersion"], up["targetVersion"]) == (NEW, BROKEN)
        assert monitor.phases == ["Rolling", "RollingBack", "RolledBack"], monitor.phases
        final = await _cluster(client, namespace, name)
        assert final["status"]["currentVersion"] == NEW
        upgrading = condition(final, "Upgrading")
        assert upgrading.get("reason") == "UpgradeRolledBack", upgrading
        assert pod in upgrading["message"], upgrading
        assert up["reason"] in upgrading["message"], upgrading
        await _check_rolled_back(c, client, token, monitor, writer, up)
        assert acked_while_broken >= MIN_ACKED_DURING_STOP, (acked_while_broken, counts, writer.errors[-10:])
    print(
        f"\nbroken {BROKEN} with autoRollback: stopped at {pod} ({up['reason']}) {stop_at - started:.1f} s after the "
        f"change, rolled back {ended - started:.1f} s after it; acked {counts.acked} in all, "
        f"{acked_while_broken} while a pod was broken; failed attempts {counts.failed_attempts}; longest gap "
        f"{counts.longest_gap_s} s; reads ok {counts.read_ok}, stale {counts.read_stale}; "
        f"conditions seen {[(t, r) for t, r, _ in monitor.messages]}"
    )


async def test_without_auto_rollback_a_stop_waits_for_the_user(
    control_plane: ControlPlane,
    kube_clients: KubeClients,
    node_agent: NodeAgent,
    namespace: str,
    tmp_path: Path,
    peer_logs: Path,
) -> None:
    name = "stp"
    node_agent.adopt_namespace(namespace)
    client = kube_clients(field_manager="test-user")
    doc = manifest(name=name, namespace=namespace, replicas=3, version=NEW)
    async with running_operator(control_plane, namespace, resync_seconds=30) as op:
        _small_gate_timeout(op)
        c, token, _ = await _prepared(client, control_plane, node_agent, doc, tmp_path, peer_logs)
        async with _writing(c, node_agent, token) as writer, monitoring(client, namespace, name, replicas=3) as monitor:
            started = time.monotonic()
            await _set_version(client, namespace, name, BROKEN)
            stopped = await eventually(
                lambda: _phase(client, namespace, name, "Stopped"),
                what="status.upgrade Stopped",
                within=300,
                interval=0.5,
            )
            stop_s = time.monotonic() - started
            up = stopped["status"]["upgrade"]
            pod = str(up["stoppedPod"])
            assert up["reason"] in GATE_REASONS, up
            for type_ in ("Upgrading", "Degraded"):
                cond = condition(stopped, type_)
                assert cond.get("reason") == "UpgradeStopped", cond
                assert pod in cond["message"], cond
                assert up["reason"] in cond["message"], cond

            # Stopped waits for the user: no pod is touched (bounded: 20 s of polling) and writes go on.
            before = dict(monitor.images)
            hold_started = time.monotonic()
            acked_before_hold = len(writer.acked)
            deadline = hold_started + 20
            while time.monotonic() < deadline:
                obj = await _cluster(client, namespace, name)
                assert obj["status"]["upgrade"]["phase"] == "Stopped"
                assert obj["status"].get("currentVersion") == NEW
                await asyncio.sleep(1)
            assert monitor.images == before, "a pod was replaced while the upgrade was stopped"
            acked_during_hold = len(writer.acked) - acked_before_hold

            revert_started = time.monotonic()
            await _set_version(client, namespace, name, NEW)
            obj = await _rolled_back(client, namespace, name)
            rollback_s = time.monotonic() - revert_started
        counts = writer.counts()

        assert monitor.phases == ["Rolling", "Stopped", "RollingBack", "RolledBack"], monitor.phases
        assert obj["status"]["upgrade"]["stoppedPod"] == pod
        assert obj["status"]["currentVersion"] == NEW
        assert _notes(await _events(client, namespace), "UpgradeRollingBack")
        await _check_rolled_back(c, client, token, monitor, writer, up)
        assert acked_during_hold >= MIN_ACKED_DURING_STOP, (acked_during_hold, counts, writer.errors[-10:])
    print(
        f"\nbroken {BROKEN} without autoRollback: Stopped at {pod} ({up['reason']}) after {stop_s:.1f} s; "
        f"{acked_during_hold} writes acknowledged in the 20 s hold; rolled back {rollback_s:.1f} s after "
        f"spec.version went back; acked {counts.acked} in all; failed attempts {counts.failed_attempts}; "
        f"longest gap {counts.longest_gap_s} s; reads ok {counts.read_ok}, stale {counts.read_stale}; "
        f"conditions seen {[(t, r) for t, r, _ in monitor.messages]}"
    )
