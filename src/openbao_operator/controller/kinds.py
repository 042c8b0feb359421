"""The kinds one cluster owns, which of them are watched, and which need their API to be served.

Why a table: observing, pruning, RBAC (deploy/) and the process wiring must agree on the same kinds.
A kind missing here is neither cached nor cleaned up, so every owned kind the renderer can produce is
listed once, with its role:

- ``CACHED``: watched by informers (label ``app.kubernetes.io/managed-by=openbao-operator``), read from
  the cache, mapped to the owning cluster by its controller ownerReference or ``openbao.org/cluster``.
- ``OPTIONAL``: Gateway API kinds, cached only when their CRDs are served (checked at start).
- Secrets are never cached, in either mode (least privilege: get by name only; docs/security.md).

Children are watched only in namespaces that opted in (``runtime.NamespaceScope``): the operator may not
list them anywhere else.
"""

from __future__ import annotations

from typing import Final

from openbao_operator import kube
from openbao_operator.api import names
from openbao_operator.kube import ResourceType

FINALIZER: Final = "openbao.org/openbaocluster-finalizer"
"""The reference operator's finalizer name: clusters it created are adopted without a second finalizer."""
MANAGED_BY_SELECTOR: Final = names.MANAGED_BY_SELECTOR
CLUSTER_LABEL: Final = names.LABEL_CLUSTER

CLUSTER = kube.resource_type("openbao.org/v1alpha1", "OpenBaoCluster")
TENANT = kube.resource_type("openbao.org/v1alpha1", "OpenBaoTenant")
"""Not owned: a namespace's opt-in, watched cluster-wide (controller/provisioner.py, controller/tenancy.py)."""
STATEFULSET = kube.resource_type("apps/v1", "StatefulSet")
SERVICE = kube.resource_type("v1", "Service")
CONFIGMAP = kube.resource_type("v1", "ConfigMap")
SERVICEACCOUNT = kube.resource_type("v1", "ServiceAccount")
SECRET = kube.resource_type("v1", "Secret")
POD = kube.resource_type("v1", "Pod")
PVC = kube.resource_type("v1", "PersistentVolumeClaim")
STORAGECLASS = kube.resource_type("storage.k8s.io/v1", "StorageClass")
ROLE = kube.resource_type("rbac.authorization.k8s.io/v1", "Role")
ROLEBINDING = kube.resource_type("rbac.authorization.k8s.io/v1", "RoleBinding")
PDB = kube.resource_type("policy/v1", "PodDisruptionBudget")
NETWORKPOLICY = kube.resource_type("networking.k8s.io/v1", "NetworkPolicy")
INGRESS = kube.resource_type("networking.k8s.io/v1", "Ingress")
HTTPROUTE = kube.resource_type("gateway.networking.k8s.io/v1", "HTTPRoute")
TLSROUTE = kube.resource_type("gateway.networking.k8s.io/v1alpha2", "TLSRoute")
BACKENDTLSPOLICY = kube.resource_type("gateway.networking.k8s.io/v1", "BackendTLSPolicy")
GATEWAY = kube.resource_type("gateway.networking.k8s.io/v1", "Gateway")
"""Not owned: read by name (ACME preflight) to check the listener the TLSRoute attaches to."""
JOB = kube.resource_type("batch/v1", "Job")
"""The backup and restore executor Jobs: created once per attempt, never applied again nor pruned (a finished
Job is the record of its attempt until its ttlSecondsAfterFinished)."""
RESTORE = kube.resource_type("openbao.org/v1alpha1", "OpenBaoRestore")
"""Not owned: a request to restore a snapshot into a cluster (controller/restores.py)."""

CACHED: Final[tuple[ResourceType, ...]] = (
    STATEFULSET,
    SERVICE,
    CONFIGMAP,
    SERVICEACCOUNT,
    ROLE,
    ROLEBINDING,
    PDB,
    NETWORKPOLICY,
    INGRESS,
    POD,
    JOB,
)
"""Kinds read from informer caches. Pods are read (readiness, revisions), never written by this package;
Jobs are created once per backup or restore attempt and read for their outcome."""

OPTIONAL: Final[tuple[ResourceType, ...]] = (HTTPROUTE, TLSROUTE, BACKENDTLSPOLICY)
"""Gateway API kinds: their CRDs may be absent; then they are neither watched nor applied."""

PRUNABLE: Final[tuple[ResourceType, ...]] = tuple(rt for rt in (*CACHED, *OPTIONAL) if rt not in (POD, JOB))
"""Kinds whose owned objects are deleted when the render no longer wants them (not executor Jobs: the render
never produces them, and a finished one is the record of its attempt)."""


def key_of(rt: ResourceType) -> str:
    """A stable name of a kind for dictionaries (``StatefulSet.apps/v1``)."""
    return str(rt)
