"""Install the operator's deploy/ manifests on a test control plane and run the operator as its ServiceAccount.

Why from deploy/ and not from hand-written test RBAC: the tests and the demo must prove that the operator
works with exactly the permissions it ships with. Documents are read from deploy/, their namespaces (and,
for cluster-scoped bindings, their names) rewritten so several tests can each have their own operator
identity, then server-side applied as admin. The operator then authenticates with a TokenRequest token of
that ServiceAccount, never with the admin certificate.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from tests.peers.controlplane import ControlPlane, write_kubeconfig
from tests.peers.pins import REPO_ROOT
from tests.peers.procs import PeerError, PeerProcess, free_port

DEPLOY = REPO_ROOT / "deploy"
CRD = DEPLOY / "crd.yaml"
OPERATOR_NAMESPACE = "openbao-operator-system"
SA_NAME = "openbao-operator"

_PATHS = {
    "Namespace": "/api/v1/namespaces/{name}",
    "ServiceAccount": "/api/v1/namespaces/{namespace}/serviceaccounts/{name}",
    "ConfigMap": "/api/v1/namespaces/{namespace}/configmaps/{name}",
    "Secret": "/api/v1/namespaces/{namespace}/secrets/{name}",
    "Service": "/api/v1/namespaces/{namespace}/services/{name}",
    "StatefulSet": "/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}",
    "Job": "/apis/batch/v1/namespaces/{namespace}/jobs/{name}",
    "NetworkPolicy": "/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies/{name}",
    "PodDisruptionBudget": "/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets/{name}",
    "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles/{name}",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/{name}",
    "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}",
    "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{name}",
    "CustomResourceDefinition": "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}",
    "OpenBaoCluster": "/apis/openbao.org/v1alpha1/namespaces/{namespace}/openbaoclusters/{name}",
    "OpenBaoTenant": "/apis/openbao.org/v1alpha1/namespaces/{namespace}/openbaotenants/{name}",
    "ValidatingAdmissionPolicy": "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/{name}",
    "ValidatingAdmissionPolicyBinding": (
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/{name}"
    ),
}


def load_documents(path: Path) -> list[dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [d for d in yaml.load_all(path.read_text(), Loader=loader) if isinstance(d, dict)]


def apply(plane: ControlPlane, obj: dict[str, Any], *, manager: str = "peers-deploy") -> dict[str, Any]:
    """Server-side apply one object as admin; raises PeerError with the server's message on failure."""
    meta = obj["metadata"]
    path = _PATHS[obj["kind"]].format(name=meta["name"], namespace=meta.get("namespace", ""))
    status, body = plane.request(
        "PATCH",
        f"{path}?fieldManager={manager}&force=true",
        body=json.dumps(obj).encode(),
        content_type="application/apply-patch+yaml",
    )
    if status not in (200, 201):
        raise PeerError(f"apply {obj['kind']} {meta['name']}: HTTP {status}: {body}")
    return dict(body)


def install_crd(plane: ControlPlane, *, timeout: float = 60.0, path: Path = CRD) -> None:
    """Apply every CRD of deploy/crd.yaml (or ``path``) and wait until each is Established (idempotent)."""
    crds = load_documents(path)
    for crd in crds:
        apply(plane, crd)
    deadline = time.monotonic() + timeout
    for crd in crds:
        name = crd["metadata"]["name"]
        while True:
            got = plane.get_json(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            conditions = (got.get("status") or {}).get("conditions") or []
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                break
            if time.monotonic() > deadline:
                raise PeerError(f"CRD {name} not Established within {timeout:.0f}s")
            time.sleep(0.2)


Mode = Literal["cluster", "namespace"]


@dataclass(frozen=True)
class OperatorIdentity:
    """Where the operator's ServiceAccount lives, what it may see, and its kubeconfig (a dict)."""

    namespace: str
    mode: Mode
    watch: tuple[str, ...]
    kubeconfig: dict[str, Any]

    def write_kubeconfig(self, path: Path) -> Path:
        return write_kubeconfig(self.kubeconfig, path)


def _rewrite(obj: dict[str, Any], *, namespace: str, suffix: str, watched: str | None) -> dict[str, Any]:
    text = json.dumps(obj).replace(OPERATOR_NAMESPACE, namespace)
    if watched is not None:
        text = text.replace("WATCHED_NAMESPACE", watched)
    out: dict[str, Any] = json.loads(text)
    if out["kind"] == "ClusterRoleBinding" and suffix:
        out["metadata"]["name"] += f"-{suffix}"
    return out


def install_operator(
    plane: ControlPlane,
    *,
    namespace: str = OPERATOR_NAMESPACE,
    mode: Mode = "cluster",
    watch: tuple[str, ...] = (),
    suffix: str = "",
    token_seconds: int = 7200,
    tenants: tuple[str, ...] = (),
) -> OperatorIdentity:
    """Namespace, ServiceAccount, RBAC and admission policies of deploy/ for an operator in ``namespace``;
    returns its identity.

    ``mode="namespace"`` applies deploy/namespace-mode/rbac.yaml once per ``watch`` namespace (that is
    those namespaces' opt-in). In cluster-wide mode ``tenants`` (existing namespaces) are onboarded with a
    self-service OpenBaoTenant each (:func:`onboard`); the operator provisions them once it runs.
    ``suffix`` keeps cluster-scoped bindings of different test operators apart (the pre-installed
    ClusterRoles and admission policies are shared: every copy is the same).
    """
    for doc in load_documents(DEPLOY / "operator.yaml"):
        if doc["kind"] == "Deployment":
            continue
        if doc["kind"] == "Namespace" and namespace != OPERATOR_NAMESPACE:
            doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        apply(plane, _rewrite(doc, namespace=namespace, suffix=suffix, watched=None))
    for shared in ("rbac-roles.yaml", "admission.yaml"):
        for doc in load_documents(DEPLOY / shared):
            apply(plane, doc)
    if mode == "cluster":
        for doc in load_documents(DEPLOY / "rbac-cluster.yaml"):
            apply(plane, _rewrite(doc, namespace=namespace, suffix=suffix, watched=None))
    else:
        for watched in watch:
            for doc in load_documents(DEPLOY / "namespace-mode" / "rbac.yaml"):
                apply(plane, _rewrite(doc, namespace=namespace, suffix=suffix, watched=watched))
    if mode == "cluster":
        for target in tenants:
            onboard(plane, target)
    kubeconfig = plane.service_account_kubeconfig(namespace=namespace, name=SA_NAME, expiration_seconds=token_seconds)
    return OperatorIdentity(namespace=namespace, mode=mode, watch=watch, kubeconfig=kubeconfig)


def tenant_manifest(target: str, *, namespace: str | None = None, name: str = "openbao") -> dict[str, Any]:
    """An OpenBaoTenant onboarding ``target``: self-service (in ``target``) unless ``namespace`` is given."""
    return {
        "apiVersion": "openbao.org/v1alpha1",
        "kind": "OpenBaoTenant",
        "metadata": {"name": name, "namespace": namespace or target},
        "spec": {"targetNamespace": target},
    }


def onboard(plane: ControlPlane, target: str, *, namespace: str | None = None) -> dict[str, Any]:
    """Opt ``target`` in for a cluster-wide operator (as its admin would): an OpenBaoTenant, self-service
    unless ``namespace`` (the operator's) is given. The running operator provisions it."""
    return apply(plane, tenant_manifest(target, namespace=namespace))


def operator_env(
    identity: OperatorIdentity,
    *,
    kubeconfig_path: Path,
    name: str,
    probe_port: int,
    resync_seconds: float = 30.0,
    lease: tuple[float, float, float] = (15.0, 10.0, 2.0),
    log_format: str = "console",
    workers: int = 16,
    cache_sync_timeout: float = 120.0,
) -> dict[str, str]:
    """Environment for ``openbao-operator run`` as ``identity``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBAO_OPERATOR_", "KUBERNETES_SERVICE"))}
    env.update(
        OPENBAO_OPERATOR_KUBECONFIG=str(kubeconfig_path),
        OPENBAO_OPERATOR_WATCH_NAMESPACE=",".join(identity.watch) if identity.mode == "namespace" else "",
        OPENBAO_OPERATOR_NAMESPACE=identity.namespace,
        OPENBAO_OPERATOR_IDENTITY=name,
        OPENBAO_OPERATOR_PROBE_ADDRESS=f"127.0.0.1:{probe_port}",
        OPENBAO_OPERATOR_RESYNC_SECONDS=str(resync_seconds),
        OPENBAO_OPERATOR_LEASE_DURATION=str(lease[0]),
        OPENBAO_OPERATOR_RENEW_DEADLINE=str(lease[1]),
        OPENBAO_OPERATOR_RETRY_PERIOD=str(lease[2]),
        OPENBAO_OPERATOR_LOG_FORMAT=log_format,
        OPENBAO_OPERATOR_WORKERS=str(workers),
        OPENBAO_OPERATOR_CACHE_SYNC_TIMEOUT=str(cache_sync_timeout),
        OPENBAO_OPERATOR_API_SERVER_CIDR="127.0.0.1/32",
        PYTHONUNBUFFERED="1",
    )
    return env


def operator_process(
    identity: OperatorIdentity, *, workdir: Path, logs: Path, name: str = "operator-0", **env_kw: Any
) -> tuple[PeerProcess, int]:
    """A (not yet started) ``openbao-operator run`` process as ``identity``; returns it and its probe port."""
    kubeconfig = identity.write_kubeconfig(workdir / f"{name}.kubeconfig")
    port = free_port()
    env = operator_env(identity, kubeconfig_path=kubeconfig, name=name, probe_port=port, **env_kw)
    argv = [sys.executable, "-m", "openbao_operator.cli", "run"]
    return PeerProcess(name=name, argv=argv, log=logs / f"{name}.log", env=env, cwd=REPO_ROOT), port
