"""The main job, end to end on this machine: a local control plane, the operator as its own ServiceAccount,
examples/cluster.yaml converged, progress shown as it happens, a summary at the end.

    uv run python -m tests.peers.demo [--once] [--keep] [--dir DIR] [-f examples/cluster.yaml]

Why in tests/peers: the control plane (etcd, kube-apiserver, kube-controller-manager, kwok) is the test
harness's. kwok plays the kubelet, so pods become Running and Ready without running OpenBao. OpenBao's
service registration (which labels an initialized pod ``openbao-initialized=true``) is therefore played
by the demo, loudly, so the bootstrap (one pod until initialized, then all replicas) can be seen.
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

from tests.peers.controlplane import ControlPlane, start_control_plane
from tests.peers.deploy import apply, install_crd, install_operator, operator_process
from tests.peers.pins import REPO_ROOT, PeerMissingError
from tests.peers.procs import PeerError, tail

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-f", "--filename", default=str(REPO_ROOT / "examples" / "cluster.yaml"))
    parser.add_argument("--once", action="store_true", help="exit after convergence (default: run until Ctrl-C)")
    parser.add_argument("--dir", default=None, help="work directory (default: a temporary one, removed at exit)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (peer and operator logs)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for convergence")
    parser.add_argument("--no-play-registration", action="store_true", help="do not label pod-0 as initialized")
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
    rc = 1
    t0 = time.monotonic()
    try:
        print(f"== starting the local control plane in {workdir} (etcd, kube-apiserver, kube-controller-manager, kwok)")
        plane = start_control_plane(workdir=workdir / "plane", logs=logs)
        took = time.monotonic() - t0
        print(f"   ready in {took:.1f}s: {plane.server} (admin kubeconfig {plane.admin_kubeconfig_path})")
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
        registration = args.no_play_registration
        deadline = time.monotonic() + args.timeout
        while not stop["now"]:
            if not operator.alive():
                print(f"operator exited:\n{tail(operator.log)}", file=sys.stderr)
                return 1
            cluster = demo.poll()
            if not registration:
                registration = demo.play_service_registration()
            if done_at is None and cluster is not None and converged(cluster):
                done_at = time.monotonic() - demo.start
                summary(demo, cluster, done_at)
                rc = 0
                if args.once:
                    break
                print("\n== converged; watching for changes (Ctrl-C to stop and clean up)")
            if done_at is None and time.monotonic() > deadline:
                print(f"not converged within {args.timeout:.0f}s; operator log tail:\n{tail(operator.log)}")
                return 1
            time.sleep(0.25)
        if done_at is not None:
            rc = 0
    except PeerMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except PeerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        print("== cleaning up: stopping the operator and the control plane", flush=True)
        if operator is not None:
            operator.stop(grace=10)
        if plane is not None:
            plane.stop()
        if args.keep or args.dir:
            print(f"   work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
