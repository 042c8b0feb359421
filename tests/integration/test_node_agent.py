"""Self-tests of the node agent (tests/peers/nodeagent.py): rendered clusters whose pods really run OpenBao.

No operator runs here: the test applies what the operator would (TLS and unseal Secrets, the rendered
objects), the real StatefulSet controller creates the pods, the binder puts them on ``bao-node-0`` and the
agent runs them. What is proven:
- one replica: Running but not Ready before init, while the liveness probe passes and nothing restarts;
  OpenBao's service registration labels the pod; init through the API makes it Ready and active; a
  ConfigMap change shows up in the running process's mount namespace;
  a deleted pod is recreated by the StatefulSet and unseals itself from the static key with its raft data
  (a kv secret) intact; a killed process is restarted (restartCount 1) and recovers.
- three replicas, bootstrapped as the operator does (one replica until pod 0 is initialized, then three):
  the rendered ``auto_join provider=k8s`` forms one raft cluster with three voters, pod 0 the only active
  node; a secret written on the leader is read on a follower.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lightkube.resources.core_v1 import ConfigMap, Pod

from tests.integration.agent_cluster import deploy_rendered
from tests.peers.controlplane import ControlPlane
from tests.peers.nodeagent import DEFAULT_NODE, NodeAgent, first_container, pod_ready, pod_running, wait_pod
from tests.peers.procs import run_checked, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(360)]


def test_one_replica_lifecycle(
    control_plane: ControlPlane, node_agent: NodeAgent, ns: str, tmp_path: Path, peer_logs: Path
) -> None:
    c = deploy_rendered(control_plane, node_agent, ns, workdir=tmp_path, logs=peer_logs, replicas=1)
    pod = wait_pod(control_plane, ns, "bao-0", pod_running, what="Running and started", timeout=90)
    assert pod["spec"]["nodeName"] == DEFAULT_NODE
    ip = node_agent.pod_ip(ns, "bao-0")
    assert pod["status"]["podIP"] == ip
    assert not ip.startswith("127.")

    # Uninitialized: the liveness probe (uninitcode=204) passes again and again, readiness (501) does not.
    runner = node_agent.runner(ns, "bao-0")
    wait_until(lambda: runner.probes["livenessProbe"].successes >= 2, what="two liveness successes", timeout=40)
    pod = wait_pod(control_plane, ns, "bao-0", lambda p: True, what="exists")
    assert not pod_ready(pod)
    assert first_container(pod)["restartCount"] == 0
    assert runner.probes["readinessProbe"].failures >= 1
    status = c.status("bao-0")
    assert status is not None
    assert status["initialized"] is False

    # OpenBao's service registration patches its own pod through the in-cluster config the agent provides.
    wait_until(lambda: c.labels("bao-0").get("openbao-initialized") == "false", what="service registration", timeout=30)
    assert c.labels("bao-0")["openbao-sealed"] == "true"

    init = c.init("bao-0")
    token = str(init["root_token"])
    assert len(init["recovery_keys_b64"]) == 1
    c.wait_ready("bao-0", timeout=60)
    wait_until(
        lambda: (
            (lb := c.labels("bao-0")).get("openbao-active") == "true"
            and lb.get("openbao-initialized") == "true"
            and lb.get("openbao-sealed") == "false"
        ),
        what="labels active/initialized/unsealed",
        timeout=30,
    )
    c.bao("bao-0", "secrets", "enable", "-path=kv", "kv-v2", token=token)
    c.bao("bao-0", "kv", "put", "kv/agent", "answer=42", token=token)

    # A ConfigMap change reaches the mounted volume of the running process (as the kubelet syncs it).
    with control_plane.client() as client:
        client.patch(ConfigMap, "bao-config", {"data": {"probe.txt": "synced"}}, namespace=ns)
    pid = node_agent.pid(ns, "bao-0")
    assert pid is not None
    wait_until(
        lambda: (
            run_checked(["nsenter", "-t", str(pid), "-m", "cat", "/etc/bao/config/probe.txt"], check=False).stdout
            == "synced"
        ),
        what="the ConfigMap change inside the pod's mount namespace",
        timeout=30,
    )

    # Deleting the pod: SIGTERM, the object goes, the StatefulSet recreates it, the new process unseals
    # itself from the static key Secret and finds its raft data in the claim directory.
    old_uid = pod["metadata"]["uid"]
    with control_plane.client() as client:
        client.delete(Pod, "bao-0", namespace=ns)
    c.wait_ready("bao-0", timeout=120, extra=lambda p: p["metadata"]["uid"] != old_uid)
    assert node_agent.pod_ip(ns, "bao-0") == ip
    assert "pod deleted" in node_agent.log.read_text()
    got = c.bao("bao-0", "kv", "get", "-field=answer", "kv/agent", token=token)
    assert got.stdout.strip() == "42"

    # Killing the process: the agent restarts it (restartCount 1) and it recovers by itself.
    killed = node_agent.kill(ns, "bao-0")
    pod = c.wait_ready("bao-0", timeout=90, extra=lambda p: first_container(p)["restartCount"] == 1)
    assert first_container(pod)["lastState"]["terminated"]["exitCode"] != 0
    assert node_agent.pid(ns, "bao-0") not in (None, killed)
    got = c.bao("bao-0", "kv", "get", "-field=answer", "kv/agent", token=token)
    assert got.stdout.strip() == "42"


def test_three_replicas_form_one_raft_cluster(
    control_plane: ControlPlane, node_agent: NodeAgent, ns: str, tmp_path: Path, peer_logs: Path
) -> None:
    c = deploy_rendered(control_plane, node_agent, ns, workdir=tmp_path, logs=peer_logs, replicas=3)
    pods = [c.pod(i) for i in range(3)]
    wait_pod(control_plane, ns, pods[0], pod_running, what="Running and started", timeout=90)
    init = c.init(pods[0])  # as the operator's bootstrap: pod 0 alone is initialized, then the set grows
    token = str(init["root_token"])
    c.wait_ready(pods[0], timeout=60)
    c.render(initialized=True)
    for p in pods:  # the followers find pod 0 through auto_join (it is Ready), join and unseal
        c.wait_ready(p, timeout=150)
    assert len({node_agent.pod_ip(ns, p) for p in pods}) == 3
    servers = c.raft_voters(pods[0], token, count=3)
    assert sorted(s["node_id"] for s in servers) == pods
    actives = [p for p in pods if c.labels(p).get("openbao-active") == "true"]
    assert actives == [pods[0]]

    c.bao(pods[0], "secrets", "enable", "-path=kv", "kv-v2", token=token)
    c.bao(pods[0], "kv", "put", "kv/raft", "written=on-the-leader", token=token)
    got = wait_until(
        lambda: (
            (r := c.bao(pods[2], "kv", "get", "-field=written", "kv/raft", token=token, check=False)).returncode == 0
            and r.stdout.strip()
        ),
        what="the secret on a follower",
        timeout=30,
    )
    assert got == "on-the-leader"
