"""The pods' identity: a ServiceAccount, and one RoleBinding to the pre-installed ``openbao-server`` ClusterRole.

Why a binding to a pre-installed ClusterRole and no rendered Role: RBAC escalation prevention lets a user
create a Role only with rights it holds itself (or with ``escalate``). A per-cluster Role granting pods
``patch`` would make the operator hold pods ``patch`` in every namespace it manages, and a pod's image is
mutable: that is a path to running code as any ServiceAccount there. A RoleBinding to a ClusterRole needs
only ``bind`` on that very ClusterRole (restricted by resourceNames in deploy/rbac-roles.yaml), so the
operator grants the pods their rights without holding them.

What ``openbao-server`` grants (deploy/rbac-roles.yaml): OpenBao's ``service_registration "kubernetes"``
gets and JSON-patches its own pod's labels (get, patch: it never sends an update), and raft ``auto_join``
with go-discover's k8s provider lists pods (list; it does not watch). RBAC cannot name the pod in a
ClusterRole shared by every cluster, so the ValidatingAdmissionPolicy ``openbao-server-own-pod``
(deploy/admission.yaml) narrows ``patch`` to the caller's own pod and to its ``openbao-*`` labels.
The ServiceAccount itself does not automount a token; the pod gets a short-lived projected token instead
(see ``volumes``), bound to the pod, which is what the admission policy checks.
"""

from __future__ import annotations

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.meta import Manifest, object_meta


def service_account(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest:
    """ServiceAccount `spec.serviceAccount.name` or `<name>-serviceaccount`, with annotations for workload identity."""
    sa = cluster.spec.service_account
    annotations = sa.annotations if sa is not None else None
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": object_meta(cluster, facts, names.service_account_name(cluster), annotations=annotations),
        "automountServiceAccountToken": False,
    }


def role_binding(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest:
    """RoleBinding `<sa>-openbao-server` of the ClusterRole `openbao-server` to the pods' ServiceAccount.

    A new name, not the reference's `<sa>-rolebinding`: a binding's roleRef is immutable, and the one of
    earlier versions pointed at the per-cluster Role `<sa>-role`. Both are left over after an upgrade and
    pruned as objects the render no longer produces (controller/prune.py)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": object_meta(cluster, facts, names.role_binding_name(cluster)),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": names.SERVER_CLUSTER_ROLE},
        "subjects": [
            {"kind": "ServiceAccount", "name": names.service_account_name(cluster), "namespace": facts.namespace}
        ],
    }
