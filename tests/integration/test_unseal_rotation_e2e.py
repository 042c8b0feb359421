"""End to end: static unseal key rotation on request, with pods that really run OpenBao (node agent).

Issue #7 point 5, done when "a rotation rewraps and the cluster still unseals after restarts with the new
key only". Two tests, each one 3-replica cluster.

The first runs the operator in this event loop (namespace mode):

1. bootstrap, write a kv secret, remember a digest of the first key's bytes;
2. set ``spec.unseal.static.rotationID``: the operator creates ``<name>-unseal-key-r1`` and rolls every pod
   onto the template that mounts the new key as current and the old one as previous;
3. the operator is stopped mid-rotation (after the first pod was replaced) and a new one started: it
   resumes from what the API shows and creates no second new key;
4. once every pod runs both keys and an active node is unsealed, the operator marks the new key
   rewrapped and rolls every pod again, now without the previous key;
5. every pod is deleted at once (the StatefulSet recreates them, the node agent runs them): they unseal with
   the new key only, the kv secret is still readable, both key Secrets hold the bytes they held before.

The second runs the operator as a real process in cluster-wide mode (no Secret cache: rotated keys are
found by following their annotations), SIGKILLs it right after it created the new key and again in the middle
of a second rotation, and shows both rotations complete, chained (r2's predecessor is r1, never the first key),
with one Secret per key and the cluster unsealing after a full restart with the newest key alone.

Key bytes are compared as SHA-256 digests and never printed. Durations are printed (``-s``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from openbao_operator import kube
from openbao_operator.controller import kinds
from tests.integration.agent_cluster import AgentCluster
from tests.integration.kubehelp import KubeClients, eventually
from tests.integration.operatorhelp import condition, crd, running_operator
from tests.integration.test_controller_chaos import _probe_ready
from tests.integration.test_rollout_e2e import (
    EVENT,
    _labels,
    _pods,
    _ready,
    _secret,
    agent_view,
    check_one_raft_cluster,
    wait_available,
)
from tests.peers.controlplane import ControlPlane
from tests.peers.deploy import install_operator, operator_process
from tests.peers.nodeagent import NodeAgent
from tests.unit.render.config_cases import manifest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200), pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

REWRAPPED = "openbao.org/unseal-key-rewrapped"


def _seal_volumes(template: dict[str, Any]) -> dict[str, str]:
    """Pod volume name -> Secret name, for the static key volumes (of a pod template, or of a pod)."""
    out = {}
    for volume in (template.get("spec") or {}).get("volumes") or ():
        if volume.get("name") in ("unseal", "unseal-previous"):
            out[str(volume["name"])] = str(volume["secret"]["secretName"])
    return out


def both(name: str, new: str, old: str) -> dict[str, str]:
    return {"unseal": f"{name}-unseal-key-{new}", "unseal-previous": f"{name}-unseal-key{old}"}


def only(name: str, rid: str) -> dict[str, str]:
    return {"unseal": f"{name}-unseal-key-{rid}"}


def rotated(rid: str) -> dict[str, Any]:
    return {"type": "static", "static": {"rotationID": rid}}


@dataclass
class RotationWatcher:
    """Polls the StatefulSet and pods: which template each revision had, and each pod uid's revision."""

    client: kube.KubeClient
    namespace: str
    name: str
    revisions: dict[str, dict[str, str]] = field(default_factory=dict)
    """updateRevision -> its seal volumes."""
    pod_revisions: dict[str, tuple[str, str]] = field(default_factory=dict)
    """pod uid -> (pod name, revision), for every pod seen."""

    async def run(self, stop: asyncio.Event) -> None:
        deadline = time.monotonic() + 900
        while not stop.is_set() and time.monotonic() < deadline:
            sts = await self.client.get(kinds.STATEFULSET, self.name, namespace=self.namespace)
            status, meta = sts.get("status") or {}, sts["metadata"]
            revision = status.get("updateRevision")
            if revision and int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0):
                self.revisions.setdefault(str(revision), _seal_volumes(sts["spec"]["template"]))
            for pod in await _pods(self.client, self.namespace, self.name):
                rev = _labels(pod).get("controller-revision-hash")
                if rev:
                    self.pod_revisions.setdefault(str(pod["metadata"]["uid"]), (str(pod["metadata"]["name"]), rev))
            await asyncio.sleep(0.3)

    def pods_on(self, volumes: dict[str, str]) -> set[str]:
        """Names of the pods seen running a revision whose template had exactly these seal volumes."""
        revs = {r for r, v in self.revisions.items() if v == volumes}
        return {name for name, rev in self.pod_revisions.values() if rev in revs}


async def _key_digest(client: kube.KubeClient, namespace: str, name: str) -> str:
    obj = await client.get(kinds.SECRET, name, namespace=namespace)
    return hashlib.sha256(base64.b64decode(obj["data"]["key"])).hexdigest()


async def _key_secrets(client: kube.KubeClient, namespace: str, name: str) -> list[str]:
    found = await client.list(kinds.SECRET, namespace=namespace, labels={"openbao.org/cluster": name})
    return sorted(str(s["metadata"]["name"]) for s in found.items if "unseal-key" in s["metadata"]["name"])


async def _annotations(client: kube.KubeClient, namespace: str, secret: str) -> dict[str, str]:
    obj = await client.get(kinds.SECRET, secret, namespace=namespace)
    return dict(obj["metadata"].get("annotations") or {})


async def _on_template(
    client: kube.KubeClient, namespace: str, name: str, volumes: dict[str, str]
) -> dict[str, Any] | None:
    """The cluster, when the StatefulSet's template has these seal volumes and every pod runs it, Ready."""
    sts = await client.get(kinds.STATEFULSET, name, namespace=namespace)
    status = sts.get("status") or {}
    if _seal_volumes(sts["spec"]["template"]) != volumes:
        return None
    if int(status.get("observedGeneration") or 0) < int(sts["metadata"].get("generation") or 0):
        return None
    target = status.get("updateRevision")
    pods = await _pods(client, namespace, name)
    on_target = [p for p in pods if _labels(p).get("controller-revision-hash") == target]
    if len(pods) != 3 or len(on_target) != 3:
        return None
    if not all(_ready(p) and not p["metadata"].get("deletionTimestamp") for p in pods):
        return None
    obj: dict[str, Any] = await client.get(kinds.CLUSTER, name, namespace=namespace)
    return obj


async def bootstrap_with_secret(
    control_plane: ControlPlane,
    node_agent: NodeAgent,
    client: kube.KubeClient,
    doc: dict[str, Any],
    tmp_path: Path,
    peer_logs: Path,
) -> tuple[AgentCluster, str]:
    """Create the cluster, wait until Available, write kv/rotation; returns the agent view and root token."""
    namespace, name = doc["metadata"]["namespace"], doc["metadata"]["name"]
    await client.apply(doc)
    await wait_available(client, namespace, name, within=300)
    token = await _secret(client, namespace, f"{name}-root-token", "token")
    c = await agent_view(control_plane, node_agent, client, doc, tmp_path, peer_logs)
    leader = await check_one_raft_cluster(c, client, token, replicas=3)
    await asyncio.to_thread(c.bao, leader, "secrets", "enable", "-path=kv", "kv-v2", token=token)
    await asyncio.to_thread(c.bao, leader, "kv", "put", "kv/rotation", "written=before", token=token)
    return c, token


async def wait_rotated(client: kube.KubeClient, namespace: str, name: str, rid: str) -> dict[str, Any]:
    """Wait for the rewrapped mark on the key of ``rid``, then for every pod on that key alone."""

    async def rewrapped() -> bool:
        return (await _annotations(client, namespace, f"{name}-unseal-key-{rid}")).get(REWRAPPED) == "true"

    await eventually(rewrapped, what=f"the key of {rid} marked rewrapped", within=400, interval=0.5)

    async def new_only() -> dict[str, Any] | None:
        obj = await _on_template(client, namespace, name, only(name, rid))
        if obj is None or condition(obj, "Progressing").get("status") != "False":
            return None
        return obj if condition(obj, "UnsealKeyRotating").get("reason") == "UnsealKeyReady" else None

    obj: dict[str, Any] = await eventually(new_only, what=f"every pod on {rid} alone", within=400, interval=0.5)
    assert condition(obj, "UnsealKeyRotating").get("status") == "False"
    assert condition(obj, "Degraded").get("status") == "False", condition(obj, "Degraded")
    config = await client.get(kinds.CONFIGMAP, f"{name}-config", namespace=namespace)
    hcl = "\n".join(str(v) for v in config["data"].values())
    assert f'"operator-rotated-{rid}"' in hcl
    assert "previous_key" not in hcl
    return obj


async def restart_all_and_read(
    c: AgentCluster, client: kube.KubeClient, token: str, *, volumes: dict[str, str]
) -> float:
    """Delete every pod at once; they must come back unsealed with only ``volumes`` mounted and the kv secret
    readable. Returns how long that took."""
    namespace, name = c.namespace, c.name
    restarted = time.monotonic()
    before = {p["metadata"]["name"]: p["metadata"]["uid"] for p in await _pods(client, namespace, name)}
    for pod_name in before:
        await client.delete(kinds.POD, pod_name, namespace=namespace)

    async def all_new() -> bool:
        pods = await _pods(client, namespace, name)
        return (
            len(pods) == 3
            and all(p["metadata"]["uid"] != before.get(p["metadata"]["name"]) for p in pods)
            and all(_ready(p) and not p["metadata"].get("deletionTimestamp") for p in pods)
        )

    await eventually(all_new, what="3 new pods Ready (unsealed)", within=300, interval=0.5)
    await wait_available(client, namespace, name, within=120)
    took = time.monotonic() - restarted
    for pod in await _pods(client, namespace, name):
        assert _seal_volumes(pod) == volumes, pod["metadata"]["name"]

    async def one_active() -> bool:
        pods = await _pods(client, namespace, name)
        return sum(_labels(p).get("openbao-active") == "true" for p in pods) == 1

    # all three restarted together: a leader is elected and labels itself a moment after Ready
    await eventually(one_active, what="one pod labelled active", within=120, interval=0.5)
    leader = await check_one_raft_cluster(c, client, token, replicas=3)
    got = await asyncio.to_thread(c.bao, leader, "kv", "get", "-field=written", "kv/rotation", token=token)
    assert got.stdout.strip() == "before"
    return took


async def assert_no_key_leaked(client: kube.KubeClient, namespace: str, name: str) -> None:
    """No key Secret's data appears in an Event, the cluster's status or the ConfigMap."""
    keys = [
        (await client.get(kinds.SECRET, n, namespace=namespace))["data"]["key"]
        for n in await _key_secrets(client, namespace, name)
    ]
    events = (await client.list(EVENT, namespace=namespace)).items
    final = await client.get(kinds.CLUSTER, name, namespace=namespace)
    config = await client.get(kinds.CONFIGMAP, f"{name}-config", namespace=namespace)
    for text in [str(e) for e in events] + [str(final.get("status")), str(config.get("data"))]:
        assert not any(k in text for k in keys)
        assert not any(base64.b64decode(k).hex() in text for k in keys)


async def _reasons(client: kube.KubeClient, namespace: str) -> list[str]:
    return [str(e.get("reason")) for e in (await client.list(EVENT, namespace=namespace)).items]


async def test_rotation_rewraps_and_the_new_key_alone_unseals_after_restarts(
    control_plane: ControlPlane,
    kube_clients: KubeClients,
    node_agent: NodeAgent,
    namespace: str,
    tmp_path: Path,
    peer_logs: Path,
) -> None:
    node_agent.adopt_namespace(namespace)
    name = "rot"
    old_key, new_key = f"{name}-unseal-key", f"{name}-unseal-key-r1"
    doc = manifest(name=name, namespace=namespace, replicas=3, unseal={"type": "static"})
    client = kube_clients(field_manager="test-user")
    timings: dict[str, float] = {}
    watcher = RotationWatcher(client, namespace, name)
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    try:
        async with running_operator(control_plane, namespace, resync_seconds=30):
            started = time.monotonic()
            c, token = await bootstrap_with_secret(control_plane, node_agent, client, doc, tmp_path, peer_logs)
            timings["bootstrap"] = time.monotonic() - started
            old_digest = await _key_digest(client, namespace, old_key)
            assert await _key_secrets(client, namespace, name) == [old_key]

            task = asyncio.create_task(watcher.run(stop))
            rotation = time.monotonic()
            await client.apply(manifest(name=name, namespace=namespace, replicas=3, unseal=rotated("r1")))

            async def first_replaced() -> bool:
                return len(watcher.pods_on(both(name, "r1", ""))) >= 1

            await eventually(first_replaced, what="a pod on the template with both keys", within=300, interval=0.5)
            new_digest = await _key_digest(client, namespace, new_key)
            obj = await client.get(kinds.CLUSTER, name, namespace=namespace)
            assert condition(obj, "UnsealKeyRotating").get("status") == "True", condition(obj, "UnsealKeyRotating")
        # 3. the operator stops mid-rotation; a new one resumes from what the API shows
        timings["first operator"] = time.monotonic() - rotation
        async with running_operator(control_plane, namespace, resync_seconds=30, seed=2):
            await wait_rotated(client, namespace, name, "r1")
            timings["rotation"] = time.monotonic() - rotation
            stop.set()
            await asyncio.wait_for(task, 30)
            # the old key was retired only after every pod had run with both keys
            assert watcher.pods_on(both(name, "r1", "")) == {c.pod(i) for i in range(3)}, watcher
            assert watcher.pods_on(only(name, "r1")) >= {c.pod(i) for i in range(3)}
            assert await _key_secrets(client, namespace, name) == sorted([old_key, new_key])  # no second new key

            # 5. every pod restarts at once with the new key only mounted
            timings["restart"] = await restart_all_and_read(c, client, token, volumes=only(name, "r1"))

            # nothing lost, nothing replaced, nothing leaked
            assert await _key_digest(client, namespace, old_key) == old_digest
            assert await _key_digest(client, namespace, new_key) == new_digest
            assert old_digest != new_digest
            reasons = await _reasons(client, namespace)
            assert reasons.count("UnsealKeyRotationStarted") == 1, reasons
            assert "UnsealKeyRotated" in reasons, reasons
            await assert_no_key_leaked(client, namespace, name)
    finally:
        stop.set()
        if task is not None and not task.done():
            task.cancel()
    print("\nunseal key rotation (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))


async def test_cluster_wide_operator_sigkilled_mid_rotation_chains_two_rotations(
    control_plane: ControlPlane,
    kube_clients: KubeClients,
    node_agent: NodeAgent,
    namespace: str,
    tmp_path: Path,
    peer_logs: Path,
) -> None:
    node_agent.adopt_namespace(namespace)
    name = "rotk"
    keys = {rid: f"{name}-unseal-key{'-' + rid if rid else ''}" for rid in ("", "r1", "r2")}
    identity = install_operator(
        control_plane, namespace=namespace, mode="cluster", suffix=namespace, tenants=(namespace,)
    )
    client = kube_clients(field_manager="test-user")
    timings: dict[str, float] = {}
    kills: list[str] = []
    proc = None

    async def start() -> None:
        nonlocal proc
        proc, port = operator_process(
            identity, workdir=tmp_path, logs=peer_logs, name="rot-operator", lease=(6.0, 4.0, 1.0)
        )
        proc.start()
        await eventually(_probe_ready(port), what="operator ready", within=60, interval=0.1)

    try:
        await start()
        started = time.monotonic()
        doc = manifest(name=name, namespace=namespace, replicas=3)
        c, token = await bootstrap_with_secret(control_plane, node_agent, client, doc, tmp_path, peer_logs)
        timings["bootstrap"] = time.monotonic() - started
        digests = {"": await _key_digest(client, namespace, keys[""])}

        # r1: SIGKILL as soon as the new key exists (the rollout has not started)
        rotation = time.monotonic()
        await client.apply(manifest(name=name, namespace=namespace, replicas=3, unseal=rotated("r1")))

        async def created(secret: str) -> bool:
            return secret in await _key_secrets(client, namespace, name)

        await eventually(lambda: created(keys["r1"]), what="the r1 key Secret", within=120, interval=0.05)
        assert proc is not None
        proc.kill()
        kills.append("r1: right after the key was created")
        digests["r1"] = await _key_digest(client, namespace, keys["r1"])
        await start()
        await wait_rotated(client, namespace, name, "r1")
        timings["rotation r1"] = time.monotonic() - rotation

        # r2: cluster-wide mode cannot list Secrets, so it must find r1 (the head) by its links
        rotation = time.monotonic()
        watcher = RotationWatcher(client, namespace, name)
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        try:
            await client.apply(manifest(name=name, namespace=namespace, replicas=3, unseal=rotated("r2")))

            async def first_replaced() -> bool:
                return len(watcher.pods_on(both(name, "r2", "-r1"))) >= 1

            await eventually(first_replaced, what="a pod with r2 and r1", within=300, interval=0.2)
            proc.kill()
            kills.append("r2: after the first pod was replaced")
            digests["r2"] = await _key_digest(client, namespace, keys["r2"])
            await start()
            await wait_rotated(client, namespace, name, "r2")
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
        timings["rotation r2"] = time.monotonic() - rotation
        assert watcher.pods_on(both(name, "r2", "-r1")) == {c.pod(i) for i in range(3)}, watcher

        assert await _key_secrets(client, namespace, name) == sorted(keys.values())  # one Secret per key
        assert (await _annotations(client, namespace, keys["r2"])).get("openbao.org/unseal-key-predecessor") == keys[
            "r1"
        ]
        assert (await _annotations(client, namespace, keys["r1"])).get("openbao.org/unseal-key-predecessor") == keys[""]
        timings["restart"] = await restart_all_and_read(c, client, token, volumes=only(name, "r2"))
        for rid, digest in digests.items():
            assert await _key_digest(client, namespace, keys[rid]) == digest, rid
        assert len(set(digests.values())) == 3
        reasons = await _reasons(client, namespace)
        assert reasons.count("UnsealKeyRotationStarted") == 2, reasons
        await assert_no_key_leaked(client, namespace, name)
    finally:
        if proc is not None:
            proc.stop(grace=10)
    print(
        "\ncluster-wide rotations (s): "
        + ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
        + f"; SIGKILLs: {'; '.join(kills)}"
    )
