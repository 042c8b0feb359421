"""What the operator's ServiceAccount may do, asked of the real API server (SubjectAccessReview), per mode.

Why this test: RBAC is only what the API server makes of it. deploy/'s RBAC and admission policies are
installed exactly as shipped (tests/peers/deploy.py), one namespace is onboarded exactly as the operator
onboards it, and the API server answers a table of questions as the operator's ServiceAccount. Every
right that amounts to cluster-admin must be refused; the rights the operator needs must be granted in the
onboarded namespace and nowhere else. A few refusals are also tried for real (server-side dry run), since
escalation prevention and admission run only on actual requests. The table is printed (``-s``) for
docs/security.md.

The OpenBao pods' rights (ClusterRole openbao-server, narrowed by the admission policy
openbao-server-own-pod) are tried with real pod-bound tokens: a server may relabel its own pod, not
re-image it and not touch a neighbour.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

from openbao_operator import kube as okube
from openbao_operator.controller import kinds
from openbao_operator.controller.provisioner import tenant_binding
from tests.integration.kubehelp import eventually
from tests.integration.operatorhelp import crd
from tests.peers.controlplane import ControlPlane
from tests.peers.deploy import OperatorIdentity, install_operator

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300), pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

RBAC = "rbac.authorization.k8s.io"
ON, OFF, SYSTEM, OWN = "<onboarded>", "<not onboarded>", "kube-system", "<operator ns>"
ALL = ""  # cluster scope / every namespace


@dataclass(frozen=True)
class Question:
    text: str
    verb: str
    resource: str
    namespace: str
    group: str = ""
    name: str = ""
    subresource: str = ""
    cluster: bool = True
    """Asked in cluster-wide mode."""
    namespaced_mode: bool = True
    """Asked in namespace mode."""


NEVER = [
    Question("patch a pod in kube-system", "patch", "pods", SYSTEM),
    Question("patch a pod in an onboarded namespace", "patch", "pods", ON),
    Question("update a pod in an onboarded namespace", "update", "pods", ON),
    Question("create a pod", "create", "pods", ON),
    Question("exec into a pod", "create", "pods", ON, subresource="exec"),
    Question("create an ephemeral container", "patch", "pods", ON, subresource="ephemeralcontainers"),
    Question("read a Secret in a namespace that did not opt in", "get", "secrets", OFF),
    Question("read a Secret in kube-system", "get", "secrets", SYSTEM),
    Question("list Secrets in an onboarded namespace", "list", "secrets", ON),
    Question("watch Secrets in an onboarded namespace", "watch", "secrets", ON),
    Question("list Secrets anywhere", "list", "secrets", ALL),
    Question("bind cluster-admin in an onboarded namespace", "bind", "clusterroles", ON, group=RBAC,
             name="cluster-admin"),
    Question("bind cluster-admin cluster-wide", "bind", "clusterroles", ALL, group=RBAC, name="cluster-admin"),
    Question("bind any ClusterRole (no name)", "bind", "clusterroles", ON, group=RBAC),
    Question("escalate a ClusterRole", "escalate", "clusterroles", ALL, group=RBAC),
    Question("escalate a Role in an onboarded namespace", "escalate", "roles", ON, group=RBAC),
    Question("create a Role in an onboarded namespace", "create", "roles", ON, group=RBAC),
    Question("create a ClusterRoleBinding", "create", "clusterrolebindings", ALL, group=RBAC),
    Question("create a ClusterRole", "create", "clusterroles", ALL, group=RBAC),
    Question("patch a ClusterRole", "patch", "clusterroles", ALL, group=RBAC, name="openbao-operator-tenant"),
    Question("create a RoleBinding in kube-system (namespace mode)", "create", "rolebindings", SYSTEM, group=RBAC,
             cluster=False),
    Question("delete a RoleBinding where it was not invited", "delete", "rolebindings", OFF, group=RBAC),
    Question("impersonate a ServiceAccount", "impersonate", "serviceaccounts", ON),
    Question("impersonate a user", "impersonate", "users", ALL),
    Question("impersonate a group", "impersonate", "groups", ALL),
    Question("mint a ServiceAccount token", "create", "serviceaccounts", ON, subresource="token"),
    Question("mint another ServiceAccount's token in its own namespace", "create", "serviceaccounts", OWN,
             name="default", subresource="token"),
    Question("mint a token of a ServiceAccount of its name in an onboarded namespace", "create", "serviceaccounts",
             ON, name="openbao-operator", subresource="token"),
    Question("create a StatefulSet in kube-system", "create", "statefulsets", SYSTEM, group="apps"),
    Question("create a StatefulSet where it was not invited", "create", "statefulsets", OFF, group="apps"),
    Question("create a Deployment in an onboarded namespace", "create", "deployments", ON, group="apps"),
    Question("create a DaemonSet in an onboarded namespace", "create", "daemonsets", ON, group="apps"),
    Question("create a Job where it was not invited", "create", "jobs", OFF, group="batch"),
    Question("delete a Job in an onboarded namespace", "delete", "jobs", ON, group="batch"),
    Question("patch an OpenBaoRestore's spec", "patch", "openbaorestores", ON, group="openbao.org"),
    Question("read a ConfigMap where it was not invited", "get", "configmaps", OFF),
    Question("list pods anywhere", "list", "pods", ALL),
    Question("patch a namespace", "patch", "namespaces", ALL),
    Question("read a node's proxy", "get", "nodes", ALL, subresource="proxy"),
    Question("approve a certificate signing request", "approve", "signers", ALL, group="certificates.k8s.io"),
    Question("change a CRD", "patch", "customresourcedefinitions", ALL, group="apiextensions.k8s.io"),
    Question("delete an admission policy", "delete", "validatingadmissionpolicies", ALL,
             group="admissionregistration.k8s.io"),
    Question("change a webhook", "patch", "mutatingwebhookconfigurations", ALL, group="admissionregistration.k8s.io"),
    Question("update another Lease in its own namespace", "update", "leases", OWN, group="coordination.k8s.io",
             name="kube-scheduler"),
    Question("read OpenBaoClusters anywhere (namespace mode)", "list", "openbaoclusters", ALL, group="openbao.org",
             cluster=False),
    Question("bind openbao-operator-tenant (namespace mode)", "bind", "clusterroles", OFF, group=RBAC,
             name="openbao-operator-tenant", cluster=False),
]  # fmt: skip

NEEDED = [
    Question("create a StatefulSet", "create", "statefulsets", ON, group="apps"),
    Question("patch a StatefulSet", "patch", "statefulsets", ON, group="apps"),
    Question("read a Secret by name", "get", "secrets", ON),
    Question("create a Secret", "create", "secrets", ON),
    Question("patch a Secret", "patch", "secrets", ON),
    Question("delete a pod (ordered rollout)", "delete", "pods", ON),
    Question("list pods", "list", "pods", ON),
    Question("create the pods' RoleBinding", "create", "rolebindings", ON, group=RBAC),
    Question("bind openbao-server", "bind", "clusterroles", ON, group=RBAC, name="openbao-server"),
    Question("delete a Role of an earlier version", "delete", "roles", ON, group=RBAC),
    Question("patch an OpenBaoCluster (finalizer)", "patch", "openbaoclusters", ON, group="openbao.org"),
    Question("write an OpenBaoCluster's status", "patch", "openbaoclusters", ON, group="openbao.org",
             subresource="status"),
    Question("create an Event", "create", "events", ON, group="events.k8s.io"),
    Question("create a backup or restore executor Job", "create", "jobs", ON, group="batch"),
    Question("watch OpenBaoRestores", "watch", "openbaorestores", ON, group="openbao.org"),
    Question("write an OpenBaoRestore's status", "patch", "openbaorestores", ON, group="openbao.org",
             subresource="status"),
    Question("patch a PVC (expansion)", "patch", "persistentvolumeclaims", ON),
    Question("renew its Lease", "update", "leases", OWN, group="coordination.k8s.io", name="openbao-operator"),
    Question("mint its own ServiceAccount's token (selfInit.oidc login)", "create", "serviceaccounts", OWN,
             name="openbao-operator", subresource="token"),
    Question("read a StorageClass", "get", "storageclasses", ALL, group="storage.k8s.io"),
    Question("list OpenBaoClusters everywhere", "list", "openbaoclusters", ALL, group="openbao.org",
             namespaced_mode=False),
    Question("list OpenBaoTenants everywhere", "list", "openbaotenants", ALL, group="openbao.org",
             namespaced_mode=False),
    Question("write the status of a cluster where it was not invited (TenantOnboarded)", "patch", "openbaoclusters",
             OFF, group="openbao.org", subresource="status", namespaced_mode=False),
    Question("create RoleBindings (only to what it may bind)", "create", "rolebindings", OFF, group=RBAC,
             namespaced_mode=False),
    Question("bind openbao-operator-tenant (onboarding)", "bind", "clusterroles", OFF, group=RBAC,
             name="openbao-operator-tenant", namespaced_mode=False),
]  # fmt: skip


@dataclass(frozen=True)
class Setup:
    mode: Literal["cluster", "namespace"]
    identity: OperatorIdentity
    operator_namespace: str
    onboarded: str
    elsewhere: str

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.operator_namespace}:openbao-operator"

    def namespace(self, placeholder: str) -> str:
        return {ON: self.onboarded, OFF: self.elsewhere, OWN: self.operator_namespace}.get(placeholder, placeholder)


def _sar(plane: ControlPlane, setup: Setup, q: Question) -> tuple[bool, str]:
    attributes = {"verb": q.verb, "group": q.group, "resource": q.resource}
    if q.namespace != ALL:
        attributes["namespace"] = setup.namespace(q.namespace)
    for key, value in (("name", q.name), ("subresource", q.subresource)):
        if value:
            attributes[key] = value
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": setup.user,
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{setup.operator_namespace}",
                       "system:authenticated"],
            "resourceAttributes": attributes,
        },
    }  # fmt: skip
    status, body = plane.request(
        "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=json.dumps(review).encode()
    )
    assert status == 201, body
    return bool(body["status"].get("allowed")), str(body["status"].get("reason") or "")


@pytest.fixture
async def spare_namespaces(kube: AsyncClient) -> AsyncIterator[tuple[str, str]]:
    """The operator's namespace and a namespace that did not opt in (kube-system is made to exist too)."""
    names = (f"op-{uuid.uuid4().hex[:10]}", f"off-{uuid.uuid4().hex[:10]}")
    for name in names:
        await kube.create(Namespace(metadata=ObjectMeta(name=name)))
    try:
        yield names
    finally:
        for name in names:
            await kube.delete(Namespace, name)


async def _ensure_namespace(kube: AsyncClient, name: str) -> None:
    names = [ns.metadata.name async for ns in kube.list(Namespace) if ns.metadata is not None]
    if name not in names:
        await kube.create(Namespace(metadata=ObjectMeta(name=name)))


async def _setup(
    mode: Literal["cluster", "namespace"],
    plane: ControlPlane,
    kube: AsyncClient,
    onboarded: str,
    names: tuple[str, str],
) -> Setup:
    await _ensure_namespace(kube, SYSTEM)
    op_ns, off = names
    if mode == "cluster":
        identity = install_operator(plane, namespace=op_ns, mode="cluster", suffix=op_ns)
        # onboarded exactly as the provisioner does it: the operator itself creates the binding
        client = kube_client(identity)
        try:
            await client.create(tenant_binding(onboarded, service_account="openbao-operator", operator_namespace=op_ns))
        finally:
            await client.close()
    else:
        identity = install_operator(plane, namespace=op_ns, mode="namespace", watch=(onboarded,), suffix=op_ns)
    return Setup(mode=mode, identity=identity, operator_namespace=op_ns, onboarded=onboarded, elsewhere=off)


def kube_client(identity: OperatorIdentity) -> okube.KubeClient:
    return okube.connect(identity.kubeconfig, field_manager="openbao-operator")


def _table(setup: Setup, rows: list[tuple[Question, bool, bool]]) -> str:
    lines = [f"| {setup.mode} mode: may the operator ... | expected | API server |", "|---|---|---|"]
    for q, want, got in rows:
        lines.append(f"| {q.text} | {'yes' if want else 'no'} | {'yes' if got else 'no'} |")
    return "\n".join(lines)


@pytest.mark.parametrize("mode", ["cluster", "namespace"])
async def test_subject_access_review_table(
    control_plane: ControlPlane,
    kube: AsyncClient,
    namespace: str,
    spare_namespaces: tuple[str, str],
    mode: Literal["cluster", "namespace"],
) -> None:
    setup = await _setup(mode, control_plane, kube, namespace, spare_namespaces)
    applies = [q for q in NEVER + NEEDED if (q.cluster if mode == "cluster" else q.namespaced_mode)]
    rows = []
    for q in applies:
        allowed, _ = _sar(control_plane, setup, q)
        rows.append((q, q in NEEDED, allowed))
    print("\n" + _table(setup, rows))
    wrong = [f"{q.text}: expected {'yes' if want else 'no'}" for q, want, got in rows if want != got]
    assert wrong == []


async def _dry_run(client: okube.KubeClient, obj: dict[str, Any]) -> str:
    """The API server's refusal of a server-side dry-run create ("" when it would have been created)."""
    try:
        await client.create(obj, dry_run=True)
    except (okube.Forbidden, okube.Invalid) as exc:
        return str(exc)
    return ""


def _binding(namespace: str, role: str, *, kind: str = "ClusterRole") -> dict[str, Any]:
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"try-{role}", "namespace": namespace},
        "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}],
    }


async def test_escalation_attempts_are_refused_for_real(
    control_plane: ControlPlane, kube: AsyncClient, namespace: str, spare_namespaces: tuple[str, str]
) -> None:
    setup = await _setup("cluster", control_plane, kube, namespace, spare_namespaces)
    client = kube_client(setup.identity)
    try:
        refusal = await _dry_run(client, _binding(namespace, "cluster-admin"))
        assert "attempting to grant" in refusal or "forbidden" in refusal.lower(), refusal
        refusal = await _dry_run(client, _binding(setup.elsewhere, "cluster-admin"))
        assert refusal, "a RoleBinding to cluster-admin was admitted"
        role = {
            "apiVersion": f"{RBAC}/v1",
            "kind": "Role",
            "metadata": {"name": "try-pods", "namespace": namespace},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["patch"]}],
        }
        assert await _dry_run(client, role), "a Role granting pods patch was admitted"
        # the tenant role itself is kept out of the system namespaces by admission (deploy/admission.yaml)
        refusal = await _dry_run(client, _binding(SYSTEM, "openbao-operator-tenant"))
        assert "openbao-operator-tenant-binding" in refusal, refusal
        # and what it may bind, it may (the pods' binding in the onboarded namespace)
        assert await _dry_run(client, _binding(namespace, "openbao-server")) == ""
    finally:
        await client.close()


async def test_openbao_server_may_relabel_only_its_own_pod(
    control_plane: ControlPlane, kube: AsyncClient, namespace: str, spare_namespaces: tuple[str, str]
) -> None:
    """The pods' ClusterRole grants pods patch; the admission policy narrows it to service registration."""
    setup = await _setup("cluster", control_plane, kube, namespace, spare_namespaces)
    operator = kube_client(setup.identity)
    root = okube.connect(control_plane.admin_kubeconfig, field_manager="test-user")
    try:
        await root.apply(
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "srv", "namespace": namespace}}
        )
        binding = _binding(namespace, "openbao-server")
        binding["subjects"] = [{"kind": "ServiceAccount", "name": "srv", "namespace": namespace}]
        await operator.create(binding)  # the operator grants it (bind on openbao-server), without holding it
        uids = {}
        for pod in ("srv-0", "srv-1"):
            created = await root.create(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": pod, "namespace": namespace, "labels": {"app": "srv"}},
                    "spec": {
                        "serviceAccountName": "srv",
                        "automountServiceAccountToken": False,
                        "containers": [{"name": "bao", "image": "quay.io/openbao/openbao:2.4.1"}],
                    },
                }
            )
            uids[pod] = created["metadata"]["uid"]
        bound = _token(control_plane, namespace, "srv", pod=("srv-0", uids["srv-0"]))
        unbound = _token(control_plane, namespace, "srv", pod=None)
        server = okube.connect(_kubeconfig(control_plane, bound))
        stranger = okube.connect(_kubeconfig(control_plane, unbound))
        try:

            async def own_label() -> bool:
                try:
                    await server.merge_patch(
                        kinds.POD, "srv-0", {"metadata": {"labels": {"openbao-active": "true"}}}, namespace=namespace
                    )
                except okube.Forbidden:
                    return False  # the RoleBinding may take a moment to reach the authorizer
                return True

            await eventually(own_label, what="a server labels its own pod", within=20)
            assert len((await server.list(kinds.POD, namespace=namespace)).items) == 2  # auto_join lists pods
            refused: dict[str, tuple[str, dict[str, Any]]] = {
                "own pod, another label": ("srv-0", {"metadata": {"labels": {"app": "evil"}}}),
                "own pod, its image": ("srv-0", {"spec": {"containers": [{"name": "bao", "image": "evil:1"}]}}),
                "own pod, an annotation": ("srv-0", {"metadata": {"annotations": {"x": "y"}}}),
                "neighbour, a service-registration label": (
                    "srv-1",
                    {"metadata": {"labels": {"openbao-active": "true"}}},
                ),
                "neighbour, its image": ("srv-1", {"spec": {"containers": [{"name": "bao", "image": "evil:1"}]}}),
            }
            admitted = []
            for what, (pod, patch) in refused.items():
                try:
                    await server.merge_patch(kinds.POD, pod, patch, namespace=namespace)
                except okube.Forbidden:
                    continue
                admitted.append(what)
            assert admitted == []
            with pytest.raises(okube.Forbidden):  # a token not bound to the pod is nobody's own pod
                await stranger.merge_patch(
                    kinds.POD, "srv-0", {"metadata": {"labels": {"openbao-sealed": "true"}}}, namespace=namespace
                )
            live = await root.get(kinds.POD, "srv-0", namespace=namespace)
            assert live["metadata"]["labels"] == {"app": "srv", "openbao-active": "true"}
            assert live["spec"]["containers"][0]["image"] == "quay.io/openbao/openbao:2.4.1"
        finally:
            await server.close()
            await stranger.close()
    finally:
        await operator.close()
        await root.close()


def _token(plane: ControlPlane, namespace: str, sa: str, *, pod: tuple[str, str] | None) -> str:
    spec: dict[str, Any] = {"expirationSeconds": 3600}
    if pod is not None:
        spec["boundObjectRef"] = {"apiVersion": "v1", "kind": "Pod", "name": pod[0], "uid": pod[1]}
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
    status, body = plane.request(
        "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{sa}/token", body=json.dumps(request).encode()
    )
    assert status == 201, body
    return str(body["status"]["token"])


def _kubeconfig(plane: ControlPlane, token: str) -> dict[str, Any]:
    config = plane.admin_kubeconfig
    config["users"][0]["user"] = {"token": token}
    return config
