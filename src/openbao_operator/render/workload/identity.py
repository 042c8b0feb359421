"""The pods' identity: ServiceAccount, and a Role + RoleBinding with only what OpenBao itself calls.

OpenBao talks to the API server for two things: `service_registration "kubernetes"` reads and patches
its own pod's labels (get, update, patch), and raft `auto_join` with go-discover's k8s provider lists
pods (list). `watch` is granted as in the reference and the charts. Nothing else: no Secrets, no other
resources, namespace-scoped only. The ServiceAccount itself does not automount a token; the pod gets a
short-lived projected token instead (see `volumes`).
"""

from __future__ import annotations

from openbao_operator.api import OpenBaoCluster
from openbao_operator.render import names
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.meta import Manifest, object_meta

POD_VERBS = ("get", "list", "watch", "update", "patch")


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


def role(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest:
    """Role `<sa>-role`: pods get/list/watch/update/patch in the cluster's namespace."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": object_meta(cluster, facts, names.role_name(cluster)),
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": list(POD_VERBS)}],
    }


def role_binding(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest:
    """RoleBinding `<sa>-rolebinding` of the Role to the pods' ServiceAccount."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": object_meta(cluster, facts, names.role_binding_name(cluster)),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": names.role_name(cluster)},
        "subjects": [
            {"kind": "ServiceAccount", "name": names.service_account_name(cluster), "namespace": facts.namespace}
        ],
    }
