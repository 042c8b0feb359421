"""Three `bao` processes started from one rendered config.hcl, each with its own pod environment, form one
raft cluster through the rendered ``retry_join { auto_join = "provider=k8s ..." }``.

Each process is a pod: its own network namespace (listening on ``[::]:8200`` as the file says) with an IP
on a shared bridge, and a Pod object in the test control plane whose status carries that IP. go-discover's
k8s provider lists the pods by the rendered namespace and label selector, the joiners reach the leader at
the discovered IP and verify its certificate by the rendered ``leader_tls_servername``. A secret written
on the leader is then read on a follower.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from lightkube.resources.core_v1 import Pod
from lightkube.types import PatchType

from openbao_operator.api import names
from tests.integration import netns
from tests.integration.config_pods import PodBao, PodFiles
from tests.integration.test_config_boot import (  # the fixtures are shared with the single-pod boots
    UNKNOWN,
    api_port,
    bao_bin,  # noqa: F401
    create_pod,
    kube_ns,  # noqa: F401
    network,  # noqa: F401
    pod_env,
    pod_networking,  # noqa: F401
    pods,  # noqa: F401
    render,
    sa_files,
)
from tests.peers.certs import TestCA
from tests.peers.controlplane import ControlPlane
from tests.peers.procs import wait_until
from tests.unit.render.config_cases import cluster, manifest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(300),
    pytest.mark.usefixtures("pod_networking"),
]


def set_pod_ip(plane: ControlPlane, namespace: str, name: str, ip: str) -> None:
    """What the kubelet reports: the pod's IP (kwok invented one; this pod's network namespace has another)."""
    with plane.client(field_manager="config-tests") as client:
        client.patch(
            Pod.Status,
            name,
            {"status": {"podIP": ip, "podIPs": [{"ip": ip}]}},
            namespace=namespace,
            patch_type=PatchType.MERGE,
        )
        got = client.get(Pod, name, namespace=namespace)
        assert got.status is not None
        assert got.status.podIP == ip


def test_three_pods_form_one_raft_cluster_through_auto_join(
    control_plane: ControlPlane,
    kube_ns: str,  # noqa: F811 - the fixture imported above
    network: netns.PodNetwork,  # noqa: F811
    pods: list[PodBao],  # noqa: F811
    tmp_path: Path,
    peer_logs: Path,
    bao_bin: Path,  # noqa: F811
) -> None:
    doc = manifest(name="bao", namespace=kube_ns, replicas=3, configuration={"raft": {"performanceMultiplier": 1}})
    text = render(doc).text  # one file for every pod
    labels = names.infra_labels(cluster(doc))
    ca = TestCA(directory=tmp_path / "ca", common_name="raft-test-ca")
    seal_key = os.urandom(32)  # the one unseal Secret every pod mounts
    sa = sa_files(control_plane, kube_ns, tmp_path / "sa")
    for i in range(3):
        pod = f"bao-{i}"
        create_pod(control_plane, kube_ns, pod, labels)
        ip = network.ip(i)
        set_pod_ip(control_plane, kube_ns, pod, ip)
        ns = network.add_pod(i, api_server_port=api_port(control_plane))
        files = PodFiles(
            root=tmp_path / pod,
            config_text=text,
            ca=ca,
            ips=("127.0.0.1", ip),
            dns=("localhost", "openbao-cluster-bao.local"),
            service_account=sa,
            seal_key=seal_key,
        )
        pods.append(
            PodBao(
                name=pod,
                netns=ns,
                files=files,
                pod_env=pod_env(control_plane, kube_ns, pod, ip),
                log=peer_logs / f"{kube_ns}-{pod}.log",
            )
        )
    leader, *followers = pods
    leader.start()
    init = json.loads(
        leader.cli("operator", "init", "-recovery-shares=1", "-recovery-threshold=1", "-format=json").stdout
    )
    token = str(init["root_token"])
    leader.wait_unsealed()
    for follower in followers:
        follower.start()
    for follower in followers:
        follower.wait_unsealed(timeout=120)  # joined through auto_join, then unsealed with the shared key

    def three_voters() -> list[dict[str, Any]] | None:
        res = leader.cli("operator", "raft", "list-peers", "-format=json", token=token, check=False)
        if res.returncode != 0:
            return None
        servers: list[dict[str, Any]] = json.loads(res.stdout)["data"]["config"]["servers"]
        return servers if len(servers) == 3 and all(s["voter"] for s in servers) else None

    servers = wait_until(three_voters, what="three raft voters", timeout=60)
    assert sorted(s["node_id"] for s in servers) == ["bao-0", "bao-1", "bao-2"]
    assert sorted(s["address"] for s in servers) == sorted(f"{network.ip(i)}:{names.CLUSTER_PORT}" for i in range(3))
    for follower in followers:
        assert 'discover: Using provider "k8s"' in follower.log_text()

    leader.cli("secrets", "enable", "-path=kv", "kv-v2", token=token)
    leader.cli("kv", "put", "kv/raft", "written=on-the-leader", token=token)
    got = wait_until(
        lambda: (
            (r := followers[1].cli("kv", "get", "-field=written", "kv/raft", token=token, check=False)).returncode == 0
            and r.stdout.strip()
        ),
        what="the secret on a follower",
        timeout=30,
    )
    assert got == "on-the-leader"
    for p in pods:
        assert UNKNOWN not in p.log_text()
