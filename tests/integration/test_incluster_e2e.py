"""The operator installed the way the README says, running from its image in-cluster, converging real OpenBao.

On a control plane of its own (the chart's cluster-scoped objects must not meet other tests' RBAC), with a
node agent that runs the operator image under podman and every other pod as real `bao`:

1. the image is built from the working tree, pushed to the test registry and signed (cosign); the README's
   install commands run as written, only the image registry added (``--set image.repository=``);
   ``helm install --wait`` returns once both operator replicas are Ready (time printed for the benchmarks);
2. the operator, in its pod (projected ServiceAccount token, KUBERNETES_SERVICE_HOST/PORT, read-only root,
   no capabilities, uid 65532), converges a 3-replica OpenBaoCluster: initialized, unsealed, one raft
   cluster, a secret written and read back;
3. ``helm upgrade`` to a new image replaces both replicas; the Lease moves to a new pod and that leader
   repairs a deleted child object;
4. ``helm uninstall`` removes the operator and leaves OpenBao's data (PVCs, the unseal key Secret, the
   cluster and its running pods);
5. the kustomize install of the README (deploy/, the registry set by an overlay) takes the cluster over again
   with the same unseal key.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from openbao_operator import kube
from openbao_operator.controller import kinds
from tests.integration.conftest import peer_unavailable
from tests.integration.kubehelp import admin, eventually
from tests.integration.test_rollout_e2e import agent_view, check_one_raft_cluster, wait_available
from tests.peers import image, kubetools, pins
from tests.peers.controlplane import ControlPlane, start_control_plane
from tests.peers.deploy import tenant_manifest
from tests.peers.nodeagent import NodeAgent
from tests.peers.registry import Registry
from tests.unit.render.config_cases import manifest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

OPERATOR_NS = "openbao-operator-system"
DEPLOYMENT = "openbao-operator"
CLUSTER_NS = "vault"
CLUSTER = "bao"
LEASE = kube.resource_type("coordination.k8s.io/v1", "Lease")
DEPLOYMENTS = kube.resource_type("apps/v1", "Deployment")
PVC = kube.resource_type("v1", "PersistentVolumeClaim")
UPSTREAM_IMAGE = "ghcr.io/openbao-operator/openbao-operator"


@dataclass
class Installation:
    """What the steps of this module hand to each other."""

    plane: ControlPlane
    agent: NodeAgent
    helm: kubetools.Tool
    kubectl: kubetools.Tool
    registry: Registry
    repository: str
    workdir: Path
    logs: Path
    tags: list[str] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def readme(self, block: str, *, extra: tuple[str, ...] = (), replace: dict[str, str] | None = None) -> None:
        """Run the README block's commands as written, plus ``extra`` arguments on helm install/upgrade lines."""
        tools = {"helm": self.helm, "kubectl": self.kubectl}
        for argv in kubetools.readme_commands(block):
            for old, new in (replace or {}).items():
                argv = [a.replace(old, new) for a in argv]
            tool, args = kubetools.with_tools(argv, tools=tools)
            if tool is self.helm and args[0] in ("install", "upgrade"):
                args = [*args, *extra]
            tool.run(*args, timeout=600)


@pytest.fixture(scope="module")
def installation(
    operator_image: image.Build,
    registry: Registry,
    tmp_path_factory: pytest.TempPathFactory,
    peer_logs: Path,
) -> Iterator[Installation]:
    workdir = tmp_path_factory.mktemp("incluster")
    logs = peer_logs / "incluster"
    logs.mkdir(exist_ok=True)
    try:
        helm = kubetools.helm(workdir=workdir / "helm", log=logs / "helm.log")
        pins.binary("kubectl")
        plane = start_control_plane(workdir=workdir / "plane", logs=logs)
    except pins.PeerMissingError as exc:
        peer_unavailable(str(exc))
    repository = f"{registry.host}/{image.IMAGE_REPOSITORY}"
    agent = NodeAgent(plane, workdir=workdir / "agent", logs=logs, podman_images=(f"{repository}:",))
    try:
        agent.start()
        helm = kubetools.helm(workdir=workdir / "helm", log=logs / "helm.log", kubeconfig=plane.admin_kubeconfig)
        kubectl = kubetools.kubectl(
            workdir=workdir / "kubectl", log=logs / "kubectl.log", kubeconfig=plane.admin_kubeconfig
        )
        yield Installation(plane, agent, helm, kubectl, registry, repository, workdir, logs)
    finally:
        agent.stop()
        plane.stop()


@pytest.fixture
async def client(installation: Installation) -> AsyncIterator[kube.KubeClient]:
    c = admin(installation.plane, field_manager="incluster-test")
    try:
        yield c
    finally:
        await c.close()


async def operator_pods(client: kube.KubeClient) -> list[dict[str, Any]]:
    pods = await client.list(kinds.POD, namespace=OPERATOR_NS, labels={"app.kubernetes.io/name": "openbao-operator"})
    return [p for p in pods.items if not p["metadata"].get("deletionTimestamp")]


def ready(pod: dict[str, Any]) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


async def lease_holder(client: kube.KubeClient) -> str:
    lease = await client.get(LEASE, "openbao-operator", namespace=OPERATOR_NS)
    return str((lease.get("spec") or {}).get("holderIdentity") or "")


async def test_push_the_image(installation: Installation, operator_image: image.Build) -> None:
    tag = image.project_version()
    digest = await asyncio.to_thread(
        image.push, operator_image.image_id, f"{installation.repository}:{tag}", log=installation.logs / "push.log"
    )
    assert digest.startswith("sha256:")
    installation.tags.append(tag)
    installation.notes["digest"] = digest


async def test_helm_install_runs_the_image_in_cluster(installation: Installation, client: kube.KubeClient) -> None:
    inst = installation
    # The README creates the namespace with Pod Security "restricted" first; the node agent's label (test
    # infrastructure, not a README step) sends its pods to the agent's node.
    started = time.monotonic()
    inst.readme("install-namespace")
    await asyncio.to_thread(inst.agent.adopt_namespace, OPERATOR_NS)
    inst.readme("install-helm", extra=(f"--set=image.repository={inst.repository}",))
    install_seconds = time.monotonic() - started
    pods = await operator_pods(client)
    assert len(pods) == 2
    assert all(ready(p) for p in pods)
    for pod in pods:
        spec = pod["spec"]
        assert spec["containers"][0]["image"] == f"{inst.repository}:{inst.tags[0]}"
        assert spec["nodeName"] == inst.agent.node
        runner = inst.agent.runner(OPERATOR_NS, pod["metadata"]["name"])
        assert runner.in_podman
        assert runner.proc is not None
        argv = runner.proc.argv
        assert "--read-only" in argv
        assert "--cap-drop=ALL" in argv
        assert "--user=65532:65532" in argv
        mounts = [a for a in argv if a.startswith("--volume=")]
        assert any(m.endswith(":/var/run/secrets/kubernetes.io/serviceaccount:ro") for m in mounts), mounts
    holder = await eventually(lambda: lease_holder(client), what="a leader", within=60)
    assert holder in {p["metadata"]["name"] for p in pods}
    inst.notes["install_seconds"] = install_seconds
    print(f"\nhelm install -> operator Ready: {install_seconds:.1f}s (2 replicas, leader {holder})")


async def test_in_cluster_operator_converges_real_openbao(installation: Installation, client: kube.KubeClient) -> None:
    inst = installation
    await client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": CLUSTER_NS}})
    await asyncio.to_thread(inst.agent.adopt_namespace, CLUSTER_NS)
    # the cluster-wide operator writes only in namespaces that opted in (README, "Onboarding a namespace")
    await client.apply(tenant_manifest(CLUSTER_NS))
    doc = manifest(name=CLUSTER, namespace=CLUSTER_NS, replicas=3)
    started = time.monotonic()
    await client.apply(doc)
    await wait_available(client, CLUSTER_NS, CLUSTER, within=300)
    print(f"\nOpenBaoCluster Available in {time.monotonic() - started:.1f}s (operator in-cluster)")
    token = await _secret(client, CLUSTER_NS, f"{CLUSTER}-root-token", "token")
    view = await agent_view(inst.plane, inst.agent, client, doc, inst.workdir, inst.logs)
    active = await check_one_raft_cluster(view, client, token, replicas=3)
    await asyncio.to_thread(view.bao, active, "secrets", "enable", "-path=kv", "kv-v2", token=token)
    await asyncio.to_thread(view.bao, active, "kv", "put", "kv/e2e", "answer=42", token=token)
    got = await asyncio.to_thread(view.bao, active, "kv", "get", "-field=answer", "kv/e2e", token=token)
    assert got.stdout.strip() == "42"
    key = await client.get(kinds.SECRET, f"{CLUSTER}-unseal-key", namespace=CLUSTER_NS)
    inst.notes["unseal_key"] = (key["metadata"]["uid"], key["data"])
    inst.notes["doc"] = doc
    inst.notes["token"] = token
    inst.notes["view"] = view


async def _secret(client: kube.KubeClient, namespace: str, name: str, key: str) -> str:
    obj = await client.get(kinds.SECRET, name, namespace=namespace)
    return base64.b64decode(obj["data"][key]).decode()


async def test_helm_upgrade_rolls_the_operator_and_hands_over_leadership(
    installation: Installation, client: kube.KubeClient, operator_image: image.Build
) -> None:
    inst = installation
    new_tag = f"{image.project_version()}-upgrade"
    new = await asyncio.to_thread(
        image.build_image,
        log=inst.logs / "image-build-upgrade.log",
        tag=f"localhost/{image.IMAGE_REPOSITORY}:{new_tag}",
        version=new_tag,
    )
    assert new.image_id != operator_image.image_id, "the new image differs (its version label)"
    await asyncio.to_thread(image.push, new.image_id, f"{inst.repository}:{new_tag}", log=inst.logs / "push.log")
    await asyncio.to_thread(image.remove_image, new.tag)  # only the local tag: the registry has it now
    old_pods = {p["metadata"]["name"] for p in await operator_pods(client)}
    old_holder = await lease_holder(client)
    lease = await client.get(LEASE, "openbao-operator", namespace=OPERATOR_NS)
    transitions = int(lease["spec"].get("leaseTransitions") or 0)
    inst.readme("upgrade-helm", replace={"NEW_TAG": new_tag})
    pods = await operator_pods(client)
    new_pods = {p["metadata"]["name"] for p in pods}
    assert len(new_pods) == 2
    assert not new_pods & old_pods
    assert all(p["spec"]["containers"][0]["image"] == f"{inst.repository}:{new_tag}" for p in pods)

    async def new_leader() -> str | None:
        holder = await lease_holder(client)
        return holder if holder in new_pods else None

    holder = await eventually(new_leader, what="a new pod leading", within=90, interval=0.5)
    lease = await client.get(LEASE, "openbao-operator", namespace=OPERATOR_NS)
    assert int(lease["spec"].get("leaseTransitions") or 0) > transitions
    print(f"\nleader {old_holder} -> {holder}")
    # the new leader reconciles: a deleted child object comes back
    await client.delete(kinds.PDB, f"{CLUSTER}-pdb", namespace=CLUSTER_NS)

    async def repaired() -> bool:
        try:
            await client.get(kinds.PDB, f"{CLUSTER}-pdb", namespace=CLUSTER_NS)
        except kube.NotFound:
            return False
        return True

    await eventually(repaired, what="the PDB recreated by the new leader", within=120, interval=0.5)
    await wait_available(client, CLUSTER_NS, CLUSTER, within=120)


async def test_helm_uninstall_keeps_openbao_data(installation: Installation, client: kube.KubeClient) -> None:
    inst = installation
    pvcs_before = {p["metadata"]["uid"] for p in (await client.list(PVC, namespace=CLUSTER_NS)).items}
    assert len(pvcs_before) == 3
    inst.readme("uninstall-helm")

    async def operator_gone() -> bool:
        return not await operator_pods(client)

    await eventually(operator_gone, what="operator pods gone", within=120, interval=0.5)
    with pytest.raises(kube.NotFound):
        await client.get(DEPLOYMENTS, DEPLOYMENT, namespace=OPERATOR_NS)
    assert {p["metadata"]["uid"] for p in (await client.list(PVC, namespace=CLUSTER_NS)).items} == pvcs_before
    key = await client.get(kinds.SECRET, f"{CLUSTER}-unseal-key", namespace=CLUSTER_NS)
    assert (key["metadata"]["uid"], key["data"]) == inst.notes["unseal_key"]
    await client.get(kinds.CLUSTER, CLUSTER, namespace=CLUSTER_NS)  # the CRD stays, and with it the cluster
    view = inst.notes["view"]
    status = await asyncio.to_thread(view.status, f"{CLUSTER}-0")
    assert status is not None
    assert status["sealed"] is False


def registry_overlay(overlay: Path, repository: str) -> Path:
    """A kustomization over deploy/ that only points the image at ``repository``."""
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(pins.REPO_ROOT / "deploy", overlay)],  # kustomize wants it relative
                "images": [{"name": UPSTREAM_IMAGE, "newName": repository}],
            }
        )
    )
    return overlay


async def test_kustomize_install_takes_the_cluster_over(installation: Installation, client: kube.KubeClient) -> None:
    inst = installation
    overlay = await asyncio.to_thread(registry_overlay, inst.workdir / "overlay", inst.repository)
    # the README's command with the overlay that only changes the image registry
    inst.readme("install-kustomize", replace={"deploy/": str(overlay)})
    await asyncio.to_thread(inst.agent.adopt_namespace, OPERATOR_NS)

    async def pods_ready() -> bool:
        pods = await operator_pods(client)
        return len(pods) == 2 and all(ready(p) for p in pods)

    await eventually(pods_ready, what="kustomize-installed operator Ready", within=180, interval=0.5)
    obj = await client.get(kinds.CLUSTER, CLUSTER, namespace=CLUSTER_NS)
    generation = int(obj["metadata"]["generation"])
    await client.merge_patch(
        kinds.CLUSTER, CLUSTER, {"spec": {"configuration": {"logLevel": "debug"}}}, namespace=CLUSTER_NS
    )

    async def observed() -> bool:
        got = await client.get(kinds.CLUSTER, CLUSTER, namespace=CLUSTER_NS)
        return int((got.get("status") or {}).get("observedGeneration") or 0) > generation

    await eventually(observed, what="the new operator reconciling the existing cluster", within=120, interval=0.5)
    key = await client.get(kinds.SECRET, f"{CLUSTER}-unseal-key", namespace=CLUSTER_NS)
    assert (key["metadata"]["uid"], key["data"]) == inst.notes["unseal_key"]
