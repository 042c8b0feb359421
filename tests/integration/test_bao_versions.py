"""Real OpenBao versions on the node agent (issue 19 groundwork): the image tag picks the `bao` a pod runs.

No operator runs here; the user's steps of an upgrade are done by hand on a rendered one-replica cluster
(``updateStrategy: OnDelete``): render the new ``spec.version`` (so the StatefulSet carries the image tag the
operator would render, ``quay.io/openbao/openbao:<version>``) and delete the pod. What is proven:
- a pod of tag 2.6.2 runs OpenBao 2.6.2 (sys/health's version, and the process's executable is the pinned
  release's binary);
- after the StatefulSet moves to 2.7.2 and the pod is replaced, it runs 2.7.2 on the same raft data, unseals
  itself from the static key and still serves the secret written under 2.6.2: a real 2.6.2 -> 2.7.2 upgrade;
- the broken tag (peers/versions.toml [openbao-broken]) never becomes Ready: its container exits 1 at start,
  again and again (CrashLoopBackOff); going back to 2.7.2 recovers the pod with its data.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from lightkube.resources.core_v1 import Pod

from tests.integration.agent_cluster import AgentCluster, deploy_rendered
from tests.peers import pins
from tests.peers.controlplane import ControlPlane
from tests.peers.nodeagent import JSON, NodeAgent, first_container, pod_ready, pod_running, wait_pod
from tests.peers.procs import wait_until
from tests.unit.render.config_cases import cluster, manifest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

OLD = "2.6.2"
NEW = "2.7.2"
BROKEN = str(pins.load_pins()[pins.BROKEN]["tag"])
POD = "bao-0"


def _move_to(c: AgentCluster, control_plane: ControlPlane, version: str) -> str:
    """Render ``spec.version: version`` (the StatefulSet's template changes) and delete the pod, as a user
    does under OnDelete; returns the replaced pod's uid."""
    c.cluster = cluster(manifest(name=c.name, namespace=c.namespace, replicas=1, version=version))
    c.render(initialized=True)
    with control_plane.client() as client:
        old_uid = str(client.get(Pod, POD, namespace=c.namespace).metadata.uid)  # type: ignore[union-attr]
        client.delete(Pod, POD, namespace=c.namespace)
    return old_uid


def _new_pod_with_image(c: AgentCluster, old_uid: str, version: str) -> JSON:
    image = f"quay.io/openbao/openbao:{version}"
    return wait_pod(
        c.plane,
        c.namespace,
        POD,
        lambda p: p["metadata"]["uid"] != old_uid and p["spec"]["containers"][0]["image"] == image,
        what=f"replaced with image {image}",
        timeout=90,
    )


def _version(c: AgentCluster) -> str:
    status = c.status(POD)
    assert status is not None
    return str(status["version"])


def test_image_tag_picks_the_openbao_version(
    control_plane: ControlPlane, node_agent: NodeAgent, ns: str, tmp_path: Path, peer_logs: Path
) -> None:
    old_binary = pins.bao_release_binary(OLD)  # a missing release fails here, naming the install command
    c = deploy_rendered(control_plane, node_agent, ns, workdir=tmp_path, logs=peer_logs, replicas=1, version=OLD)
    pod = wait_pod(control_plane, ns, POD, pod_running, what="Running and started", timeout=90)
    assert pod["spec"]["containers"][0]["image"] == f"quay.io/openbao/openbao:{OLD}"
    assert _version(c) == OLD
    pid = node_agent.pid(ns, POD)
    assert pid is not None
    assert Path(os.readlink(f"/proc/{pid}/exe")) == old_binary

    init = c.init(POD)
    token = str(init["root_token"])
    c.wait_ready(POD, timeout=60)
    c.bao(POD, "secrets", "enable", "-path=kv", "kv-v2", token=token)
    c.bao(POD, "kv", "put", "kv/upgrade", f"written-under={OLD}", token=token)

    # 2.6.2 -> 2.7.2 on the same raft data: the new process unseals itself and serves what 2.6.2 wrote.
    old_uid = _move_to(c, control_plane, NEW)
    _new_pod_with_image(c, old_uid, NEW)
    c.wait_ready(POD, timeout=120)
    assert _version(c) == NEW
    got = c.bao(POD, "kv", "get", "-field=written-under", "kv/upgrade", token=token)
    assert got.stdout.strip() == OLD

    # The broken tag: the container exits 1 at start, restarts with back-off, and the pod is never Ready.
    old_uid = _move_to(c, control_plane, BROKEN)
    _new_pod_with_image(c, old_uid, BROKEN)
    pod = wait_pod(
        control_plane,
        ns,
        POD,
        lambda p: first_container(p).get("restartCount", 0) >= 2,
        what="the broken build restarted twice",
        timeout=90,
    )
    terminated = first_container(pod)["lastState"]["terminated"]
    assert terminated["exitCode"] == int(pins.load_pins()[pins.BROKEN]["exit_code"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # bounded: it stays un-Ready while it keeps crashing
        pod = wait_pod(control_plane, ns, POD, lambda _: True, what="exists")
        assert not pod_ready(pod)
        time.sleep(1)
    assert "broken test build" in node_agent.log_path(ns, POD).read_text()

    # Back to 2.7.2: the pod recovers, with its data.
    old_uid = _move_to(c, control_plane, NEW)
    _new_pod_with_image(c, old_uid, NEW)
    c.wait_ready(POD, timeout=120)
    wait_until(lambda: _version(c) == NEW, what=f"OpenBao {NEW} again", timeout=30)
    got = c.bao(POD, "kv", "get", "-field=written-under", "kv/upgrade", token=token)
    assert got.stdout.strip() == OLD
