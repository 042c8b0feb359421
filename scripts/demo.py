"""The main job, end to end on this machine: a local control plane, the operator as its own ServiceAccount,
examples/cluster.yaml converged into a real OpenBao cluster, progress shown as it happens, and at the end
OpenBao answering: ``bao status`` of every pod, the raft peers, a secret written and read back.

    uv run python -m scripts.demo [--once] [--keep] [--dir DIR] [-f examples/cluster.yaml] [--kwok] [--in-cluster]

Why a script beside demo.sh and not part of the package: it starts the test harness's control plane (etcd,
kube-apiserver, kube-controller-manager) and node agent (tests/peers), which the operator never ships. The
node agent (tests/peers/nodeagent.py) is a kubelet that runs each pod as a real `bao` process in its own
network namespace, so the operator initializes, unseals and joins real servers. It needs root and
``ip netns``; where the machine cannot give it, or with ``--kwok``, the demo falls back to kwok (pods that
run nothing) and says so, playing OpenBao's service registration on pod-0 so the bootstrap can still be
seen. ``--in-cluster`` runs the operator from its image instead of as a host process: built with podman,
pushed to a local registry and installed with the README's helm commands.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from tests.peers import image, kubetools, pins, podnet
from tests.peers.controlplane import ControlPlane, start_control_plane
from tests.peers.deploy import OPERATOR_NAMESPACE, apply, install_crd, install_operator, onboard, operator_process
from tests.peers.nodeagent import NodeAgent
from tests.peers.pins import REPO_ROOT, PeerMissingError
from tests.peers.procs import PeerError, tail
from tests.peers.registry import Registry, start_registry

from scripts import demobao

KINDS = (
    ("ServiceAccount", "/api/v1/namespaces/{ns}/serviceaccounts"),
    ("RoleBinding", "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings"),
    ("Secret", "/api/v1/namespaces/{ns}/secrets"),
    ("ConfigMap", "/api/v1/namespaces/{ns}/configmaps"),
    ("Service", "/api/v1/namespaces/{ns}/services"),
    ("StatefulSet", "/apis/apps/v1/namespaces/{ns}/statefulsets"),
    ("PodDisruptionBudget", "/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets"),
    ("NetworkPolicy", "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies"),
    ("Pod", "/api/v1/namespaces/{ns}/pods"),
    ("PersistentVolumeClaim", "/api/v1/namespaces/{ns}/persistentvolumeclaims"),
)


class Demo:
    def __init__(self, plane: ControlPlane, *, namespace: str, name: str) -> None:
        self.plane = plane
        self.namespace = namespace
        self.name = name
        self.start = time.monotonic()
        self.seen: set[tuple[str, str]] = set()
        self.conditions: dict[str, tuple[str, str]] = {}
        self.phase: str | None = None
        self.pod_phases: dict[str, str] = {}

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.start:6.2f}s] {text}", flush=True)

    def get(self, path: str) -> Any:
        status, body = self.plane.request("GET", path)
        return body if status == 200 else None

    def cluster(self) -> dict[str, Any] | None:
        got = self.get(f"/apis/openbao.org/v1alpha1/namespaces/{self.namespace}/openbaoclusters/{self.name}")
        return dict(got) if isinstance(got, dict) else None

    def objects(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for kind, path in KINDS:
            listed = self.get(path.format(ns=self.namespace) + f"?labelSelector=openbao.org/cluster%3D{self.name}")
            for item in (listed or {}).get("items") or ():
                out.append((kind, item))
        return out

    def poll(self) -> dict[str, Any] | None:
        for kind, obj in self.objects():
            key = (kind, obj["metadata"]["name"])
            if key not in self.seen:
                self.seen.add(key)
                owner = "owned by the cluster" if obj["metadata"].get("ownerReferences") else "no owner"
                if kind == "Pod":
                    owner = "pod of the StatefulSet"
                elif kind == "PersistentVolumeClaim":
                    owner = "claim template volume, kept unless the deletion policy says otherwise"
                elif kind == "Secret" and "unseal-key" in key[1]:
                    owner = "no owner: survives the cluster under deletionPolicy Retain"
                self.say(f"+ {kind:<22} {key[1]:<36} ({owner})")
            if kind == "Pod":
                phase = (obj.get("status") or {}).get("phase") or "Pending"
                if self.pod_phases.get(key[1]) != phase:
                    self.pod_phases[key[1]] = phase
                    self.say(f"  pod {key[1]} is {phase}")
        cluster = self.cluster()
        if cluster is None:
            return None
        status = cluster.get("status") or {}
        if status.get("phase") != self.phase:
            self.phase = status.get("phase")
            self.say(f"phase: {self.phase}")
        for cond in status.get("conditions") or ():
            now = (cond["status"], cond["reason"])
            if self.conditions.get(cond["type"]) != now:
                self.conditions[cond["type"]] = now
                self.say(f"  condition {cond['type']}={cond['status']} ({cond['reason']}): {cond['message'][:110]}")
        return cluster

    def play_service_registration(self) -> bool:
        """Label a Running pod-0 as OpenBao's service registration would after initialization."""
        pod = self.get(f"/api/v1/namespaces/{self.namespace}/pods/{self.name}-0")
        if not pod or (pod.get("status") or {}).get("phase") != "Running":
            return False
        if (pod["metadata"].get("labels") or {}).get("openbao-initialized") == "true":
            return True
        patch = {"metadata": {"labels": {"openbao-initialized": "true", "openbao-sealed": "false"}}}
        status, _ = self.plane.request(
            "PATCH",
            f"/api/v1/namespaces/{self.namespace}/pods/{self.name}-0",
            body=json.dumps(patch).encode(),
            content_type="application/merge-patch+json",
        )
        if status == 200:
            self.say(
                f"(demo) kwok runs no OpenBao: playing its service registration, {self.name}-0 is labelled "
                "openbao-initialized=true as an initialized pod would label itself"
            )
        return status == 200


def converged(cluster: dict[str, Any]) -> bool:
    status = cluster.get("status") or {}
    conds = {c["type"]: c for c in status.get("conditions") or ()}
    return bool(
        status.get("observedGeneration") == cluster["metadata"].get("generation")
        and conds.get("Available", {}).get("status") == "True"
        and conds.get("ConfigurationValid", {}).get("status") == "True"
        and conds.get("Degraded", {}).get("status") == "False"
    )


def summary(demo: Demo, cluster: dict[str, Any], seconds: float) -> None:
    status = cluster.get("status") or {}
    print("\n== summary", flush=True)
    ready, wanted = status.get("readyReplicas"), cluster["spec"].get("replicas")
    print(
        f"cluster {demo.namespace}/{demo.name}: phase {status.get('phase')}, {ready} of {wanted} pods ready, "
        f"converged in {seconds:.1f}s"
    )
    by_kind: dict[str, list[str]] = {}
    for kind, name in sorted(demo.seen):
        by_kind.setdefault(kind, []).append(name)
    for kind, names in by_kind.items():
        print(f"  {kind:<22} {', '.join(names)}")
    print("conditions:")
    for cond in status.get("conditions") or ():
        print(f"  {cond['type']:<18} {cond['status']:<6} {cond['reason']}: {cond['message'][:100]}")


def node_agent_unavailable() -> str | None:
    """Why real OpenBao pods cannot run here (None when they can)."""
    if not podnet.available():
        return "the node agent needs root and `ip netns` (a network namespace per pod)"
    try:
        pins.bao_pod_binary()
    except PeerMissingError as exc:
        return str(exc)
    return None


def install_in_cluster(plane: ControlPlane, agent: NodeAgent, repository: str, *, workdir: Path, logs: Path) -> None:
    """The operator from its image, in a pod: build, push to the local registry, and the README's install
    commands (only the image registry added)."""
    started = time.monotonic()
    build = image.build_image(log=logs / "image-build.log")
    print(f"== operator image built in {build.seconds:.1f}s ({build.size / 1e6:.1f} MB): {build.tag}")
    tag = f"{repository}:{image.project_version()}"
    image.push(build.image_id, tag, log=logs / "push.log")
    print(f"== pushed to the local registry as {tag}")
    tools = {
        "helm": kubetools.helm(workdir=workdir / "helm", log=logs / "helm.log", kubeconfig=plane.admin_kubeconfig),
        "kubectl": kubetools.kubectl(
            workdir=workdir / "kubectl", log=logs / "kubectl.log", kubeconfig=plane.admin_kubeconfig
        ),
    }
    for block in ("install-namespace", "install-helm"):
        for argv in kubetools.readme_commands(block):
            tool, args = kubetools.with_tools(argv, tools=tools)
            if argv[:2] == ["helm", "install"]:
                args = [*args, f"--set=image.repository={repository}"]
            print(f"$ {' '.join([argv[0], *args])}")
            tool.run(*args, timeout=600)
        if block == "install-namespace":
            agent.adopt_namespace(OPERATOR_NAMESPACE)  # test infrastructure: its pods go to the node agent
    print(
        f"== operator running in-cluster from its image (2 replicas under podman, uid 65532, read-only root), "
        f"installed in {time.monotonic() - started:.1f}s; pod logs in {logs}"
    )


def talk_to_it(client: demobao.BaoClient, active: str, *, kept: bool) -> None:
    """How to reach the cluster from another shell while the demo runs (the token stays in its Secret)."""
    if not kept:
        return
    env = " ".join(f"{k}={v}" for k, v in client.env(active).items())
    print(
        f"\nTalk to it from another shell (while the demo runs):\n  {env} uv run bao status\n"
        f"  the root token is in Secret {client.namespace}/{client.name}-root-token (key token); "
        f"kubeconfig: {client.plane.admin_kubeconfig_path}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-f", "--filename", default=str(REPO_ROOT / "examples" / "cluster.yaml"))
    parser.add_argument("--once", action="store_true", help="exit after convergence (default: run until Ctrl-C)")
    parser.add_argument("--dir", default=None, help="work directory (default: a temporary one, removed at exit)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (peer and operator logs)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for convergence")
    parser.add_argument("--no-play-registration", action="store_true", help="kwok only: do not label pod-0")
    parser.add_argument("--kwok", action="store_true", help="pods on kwok (run nothing) instead of real `bao`")
    parser.add_argument(
        "--in-cluster",
        action="store_true",
        help="build the operator image, push it to a local registry and `helm install` it (the operator in a pod)",
    )
    args = parser.parse_args(argv)

    workdir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="openbao-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    logs = workdir / "logs"
    manifest = yaml.safe_load(Path(args.filename).read_text())
    namespace = manifest["metadata"].get("namespace") or "default"
    name = manifest["metadata"]["name"]
    stop = {"now": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    plane = None
    operator = None
    agent: NodeAgent | None = None
    registry: Registry | None = None
    rc = 1
    t0 = time.monotonic()
    try:
        print(f"== starting the local control plane in {workdir} (etcd, kube-apiserver, kube-controller-manager, kwok)")
        plane = start_control_plane(workdir=workdir / "plane", logs=logs)
        took = time.monotonic() - t0
        print(f"   ready in {took:.1f}s: {plane.server} (admin kubeconfig {plane.admin_kubeconfig_path})")
        why_not = "--kwok given" if args.kwok else node_agent_unavailable()
        podman_images: tuple[str, ...] = ()
        if args.in_cluster:
            if why_not is not None:
                print(f"error: --in-cluster needs the node agent, which cannot run here: {why_not}", file=sys.stderr)
                return 1
            registry = start_registry(workdir=workdir / "registry", logs=logs)
            repository = f"{registry.host}/{image.IMAGE_REPOSITORY}"
            podman_images = (f"{repository}:",)
        if why_not is None:
            agent = NodeAgent(plane, workdir=workdir / "node-agent", logs=logs, podman_images=podman_images).start()
            agent.adopt_namespace(namespace)
            print(
                f"== node agent {agent.node}: pods of namespace {namespace} run as real `bao` processes "
                f"(pod network {agent.network.gateway}/24, pod logs in {logs})"
            )
        else:
            print(f"== FALLING BACK TO KWOK ({why_not}): pods become Running without running OpenBao")
        if args.in_cluster:
            assert agent is not None
            install_in_cluster(plane, agent, repository, workdir=workdir, logs=logs)
            apply(plane, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
            print(f"== onboarding namespace {namespace}: an OpenBaoTenant (deploy/tenant-example.yaml)")
            onboard(plane, namespace)
        else:
            print(
                "== installing deploy/crd.yaml and the operator's ServiceAccount, RBAC and admission policies "
                "(deploy/operator.yaml, rbac-roles.yaml, rbac-cluster.yaml, admission.yaml)"
            )
            install_crd(plane)
            apply(plane, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
            print(f"== onboarding namespace {namespace}: an OpenBaoTenant (deploy/tenant-example.yaml)")
            identity = install_operator(plane, tenants=(namespace,))
            operator, port = operator_process(identity, workdir=workdir, logs=logs, name="openbao-operator-0")
            operator.start()
            print(
                f"== operator running as system:serviceaccount:{identity.namespace}:openbao-operator "
                f"(pid {operator.pid}, probes http://127.0.0.1:{port}/readyz, log {operator.log})"
            )
        print(f"== applying {args.filename}")
        demo = Demo(plane, namespace=namespace, name=name)
        apply(plane, manifest, manager="demo-user")
        done_at: float | None = None
        cluster: dict[str, Any] | None = None
        registration = args.no_play_registration or agent is not None
        deadline = time.monotonic() + args.timeout
        while not stop["now"]:
            if operator is not None and not operator.alive():
                print(f"operator exited:\n{tail(operator.log)}", file=sys.stderr)
                return 1
            cluster = demo.poll()
            if not registration:
                registration = demo.play_service_registration()
            if done_at is None and cluster is not None and converged(cluster):
                done_at = time.monotonic() - demo.start
                summary(demo, cluster, done_at)
                if agent is not None:
                    client = demobao.BaoClient(plane, agent, namespace, name, workdir)
                    active = demobao.show(client, replicas=int(cluster["spec"]["replicas"]), say=print)
                    talk_to_it(client, active, kept=bool(args.keep or args.dir) or not args.once)
                print(f"\n== done in {time.monotonic() - t0:.1f}s (control plane start included)")
                rc = 0
                if args.once:
                    break
                print("\n== converged; watching for changes (Ctrl-C to stop and clean up)")
            if done_at is None and time.monotonic() > deadline:
                log = operator.log if operator is not None else logs
                print(f"not converged within {args.timeout:.0f}s; operator log: {log}")
                if operator is not None:
                    print(tail(operator.log))
                return 1
            time.sleep(0.25)
        if done_at is not None:
            rc = 0
    except PeerMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (PeerError, demobao.BaoDemoError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        print("== cleaning up: stopping the operator, the pods and the control plane", flush=True)
        if operator is not None:
            operator.stop(grace=10)
        if agent is not None:
            agent.stop()
        if plane is not None:
            plane.stop()
        if registry is not None:
            registry.stop()
        if args.keep or args.dir:
            print(f"   work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
