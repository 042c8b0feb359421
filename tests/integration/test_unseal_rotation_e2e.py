"""End to end: a static unseal key rotation on request, with pods that really run OpenBao (node agent).

Issue #7 point 5, done when "a rotation rewraps and the cluster still unseals after restarts with the new
key only". One 3-replica cluster, the operator in this event loop:

1. bootstrap, write a kv secret, remember a digest of the first key's bytes;
2. set ``spec.unseal.static.rotationID``: the operator creates ``<name>-unseal-key-r1`` and rolls every pod
   onto the template that mounts the new key as current and the old one as previous;
3. the operator is stopped mid-rotation (after the first pod was replaced) and a new one started: it
   resumes from what the API shows and creates no second new key;
4. once every pod runs both keys and an active node is unsealed, the operator marks the new key
   rewrapped and rolls every pod again, now without the previous key;
5. every pod is deleted at once (the StatefulSet recreates them, the node agent runs them): they unseal with
   the new key only, the kv secret is still readable, both key Secrets hold the bytes they held before.

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
from tests.integration.kubehelp import admin, eventually
from tests.integration.operatorhelp import condition, crd, running_operator
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
from tests.peers.nodeagent import NodeAgent
from tests.unit.render.config_cases import manifest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200), pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

NAME = "rot"
OLD_KEY = f"{NAME}-unseal-key"
NEW_KEY = f"{NAME}-unseal-key-r1"
ROTATED = {"type": "static", "static": {"rotationID": "r1"}}


def _seal_volumes(template: dict[str, Any]) -> dict[str, str]:
    """Pod volume name -> Secret name, for the static key volumes."""
    out = {}
    for volume in (template.get("spec") or {}).get("volumes") or ():
        if volume.get("name") in ("unseal", "unseal-previous"):
            out[str(volume["name"])] = str(volume["secret"]["secretName"])
    return out


BOTH = {"unseal": NEW_KEY, "unseal-previous": OLD_KEY}
NEW_ONLY = {"unseal": NEW_KEY}


@dataclass
class RotationWatcher:
    """Polls the StatefulSet and pods: which template each revision had, and each pod uid's revision."""

    client: kube.KubeClient
    namespace: str
    revisions: dict[str, dict[str, str]] = field(default_factory=dict)
    """updateRevision -> its seal volumes."""
    pod_revisions: dict[str, tuple[str, str]] = field(default_factory=dict)
    """pod uid -> (pod name, revision), for every pod seen."""

    async def run(self, stop: asyncio.Event) -> None:
        deadline = time.monotonic() + 900
        while not stop.is_set() and time.monotonic() < deadline:
            sts = await self.client.get(kinds.STATEFULSET, NAME, namespace=self.namespace)
            status, meta = sts.get("status") or {}, sts["metadata"]
            revision = status.get("updateRevision")
            if revision and int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0):
                self.revisions.setdefault(str(revision), _seal_volumes(sts["spec"]["template"]))
            for pod in await _pods(self.client, self.namespace, NAME):
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


async def _key_secrets(client: kube.KubeClient, namespace: str) -> list[str]:
    found = await client.list(kinds.SECRET, namespace=namespace, labels={"openbao.org/cluster": NAME})
    return sorted(str(s["metadata"]["name"]) for s in found.items if "unseal-key" in s["metadata"]["name"])


async def _on_template(client: kube.KubeClient, namespace: str, volumes: dict[str, str]) -> dict[str, Any] | None:
    """The cluster, when the StatefulSet's template has these seal volumes and every pod runs it, Ready."""
    sts = await client.get(kinds.STATEFULSET, NAME, namespace=namespace)
    status = sts.get("status") or {}
    if _seal_volumes(sts["spec"]["template"]) != volumes:
        return None
    if int(status.get("observedGeneration") or 0) < int(sts["metadata"].get("generation") or 0):
        return None
    target = status.get("updateRevision")
    pods = await _pods(client, namespace, NAME)
    if len(pods) != 3 or not all(
        _labels(p).get("controller-revision-hash") == target
        and _ready(p)
        and not p["metadata"].get("deletionTimestamp")
        for p in pods
    ):
        return None
    obj: dict[str, Any] = await client.get(kinds.CLUSTER, NAME, namespace=namespace)
    return obj


async def test_rotation_rewraps_and_the_new_key_alone_unseals_after_restarts(
    control_plane: ControlPlane, node_agent: NodeAgent, namespace: str, tmp_path: Path, peer_logs: Path
) -> None:
    node_agent.adopt_namespace(namespace)
    doc = manifest(name=NAME, namespace=namespace, replicas=3, unseal={"type": "static"})
    client = admin(control_plane, field_manager="test-user")
    timings: dict[str, float] = {}
    watcher = RotationWatcher(client, namespace)
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    try:
        async with running_operator(control_plane, namespace, resync_seconds=30):
            started = time.monotonic()
            await client.apply(doc)
            await wait_available(client, namespace, NAME, within=300)
            timings["bootstrap"] = time.monotonic() - started
            token = await _secret(client, namespace, f"{NAME}-root-token", "token")
            c = await agent_view(control_plane, node_agent, client, doc, tmp_path, peer_logs)
            leader = await check_one_raft_cluster(c, client, token, replicas=3)
            await asyncio.to_thread(c.bao, leader, "secrets", "enable", "-path=kv", "kv-v2", token=token)
            await asyncio.to_thread(c.bao, leader, "kv", "put", "kv/rotation", "written=before", token=token)
            old_digest = await _key_digest(client, namespace, OLD_KEY)
            assert await _key_secrets(client, namespace) == [OLD_KEY]

            task = asyncio.create_task(watcher.run(stop))
            rotated = time.monotonic()
            await client.apply(manifest(name=NAME, namespace=namespace, replicas=3, unseal=ROTATED))

            async def first_replaced() -> bool:
                return len(watcher.pods_on(BOTH)) >= 1

            await eventually(first_replaced, what="a pod on the template with both keys", within=300, interval=0.5)
            new_digest = await _key_digest(client, namespace, NEW_KEY)
            obj = await client.get(kinds.CLUSTER, NAME, namespace=namespace)
            assert condition(obj, "UnsealKeyRotating").get("status") == "True", condition(obj, "UnsealKeyRotating")
        # 3. the operator stops mid-rotation; a new one resumes from what the API shows
        timings["first operator"] = time.monotonic() - rotated
        async with running_operator(control_plane, namespace, resync_seconds=30, seed=2):

            async def rewrapped() -> bool:
                secret = await client.get(kinds.SECRET, NEW_KEY, namespace=namespace)
                annotations = secret["metadata"].get("annotations") or {}
                return annotations.get("openbao.org/unseal-key-rewrapped") == "true"

            await eventually(rewrapped, what="the new key marked rewrapped", within=400, interval=0.5)
            timings["rewrapped"] = time.monotonic() - rotated
            # the mark comes only after every pod ran both keys
            assert watcher.pods_on(BOTH) == {c.pod(i) for i in range(3)}, (watcher.revisions, watcher.pod_revisions)

            async def new_only() -> dict[str, Any] | None:
                obj = await _on_template(client, namespace, NEW_ONLY)
                if obj is None or condition(obj, "Progressing").get("status") != "False":
                    return None
                return obj if condition(obj, "UnsealKeyRotating").get("reason") == "UnsealKeyReady" else None

            obj = await eventually(new_only, what="every pod on the new key alone", within=400, interval=0.5)
            timings["rotation"] = time.monotonic() - rotated
            stop.set()
            await asyncio.wait_for(task, 30)
            assert watcher.pods_on(NEW_ONLY) >= {c.pod(i) for i in range(3)}
            assert condition(obj, "UnsealKeyRotating").get("status") == "False"
            assert condition(obj, "Degraded").get("status") == "False", condition(obj, "Degraded")
            config = await client.get(kinds.CONFIGMAP, f"{NAME}-config", namespace=namespace)
            hcl = "\n".join(str(v) for v in config["data"].values())
            assert "operator-rotated-r1" in hcl
            assert "previous_key" not in hcl
            assert await _key_secrets(client, namespace) == sorted([OLD_KEY, NEW_KEY])  # no second new key

            # 5. every pod restarts at once with the new key only mounted
            restarted = time.monotonic()
            before = {p["metadata"]["name"]: p["metadata"]["uid"] for p in await _pods(client, namespace, NAME)}
            for pod_name in before:
                await client.delete(kinds.POD, pod_name, namespace=namespace)

            async def all_new() -> bool:
                pods = await _pods(client, namespace, NAME)
                return (
                    len(pods) == 3
                    and all(p["metadata"]["uid"] != before.get(p["metadata"]["name"]) for p in pods)
                    and all(_ready(p) and not p["metadata"].get("deletionTimestamp") for p in pods)
                )

            await eventually(all_new, what="3 new pods Ready (unsealed)", within=300, interval=0.5)
            await wait_available(client, namespace, NAME, within=120)
            timings["restart"] = time.monotonic() - restarted
            for pod in await _pods(client, namespace, NAME):
                assert _seal_volumes(pod) == NEW_ONLY, pod["metadata"]["name"]

            async def one_active() -> bool:
                pods = await _pods(client, namespace, NAME)
                return sum(_labels(p).get("openbao-active") == "true" for p in pods) == 1

            # all three restarted together: a leader is elected and labels itself a moment after Ready
            await eventually(one_active, what="one pod labelled active", within=120, interval=0.5)
            leader = await check_one_raft_cluster(c, client, token, replicas=3)
            got = await asyncio.to_thread(c.bao, leader, "kv", "get", "-field=written", "kv/rotation", token=token)
            assert got.stdout.strip() == "before"

            # nothing lost, nothing replaced, nothing leaked
            assert await _key_digest(client, namespace, OLD_KEY) == old_digest
            assert await _key_digest(client, namespace, NEW_KEY) == new_digest
            assert old_digest != new_digest
            events = (await client.list(EVENT, namespace=namespace)).items
            reasons = [str(e.get("reason")) for e in events]
            assert reasons.count("UnsealKeyRotationStarted") == 1, reasons
            assert "UnsealKeyRotated" in reasons, reasons
            keys = [(await client.get(kinds.SECRET, n, namespace=namespace))["data"]["key"] for n in (OLD_KEY, NEW_KEY)]
            final = await client.get(kinds.CLUSTER, NAME, namespace=namespace)
            for text in [str(e) for e in events] + [str(final.get("status")), hcl]:
                assert not any(k in text for k in keys)
    finally:
        stop.set()
        if task is not None and not task.done():
            task.cancel()
        await client.close()
    print("\nunseal key rotation (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
