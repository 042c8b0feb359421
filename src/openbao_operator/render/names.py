"""Names, labels, ports and in-pod paths shared by config.hcl and the workload objects.

They follow the reference operator (spec/reference-operator.md §3), so its manifests, dashboards and
label selectors keep working. Both renderers take them from here: a path that config.hcl points at
and the volume mount that puts a file there must never drift apart.
"""

from __future__ import annotations

import hashlib
from typing import Final

from openbao_operator.api import OpenBaoCluster

API_PORT: Final = 8200
CLUSTER_PORT: Final = 8201

# Where files are inside the pod.
CONFIG_DIR: Final = "/etc/bao/config"
CONFIG_FILE: Final = f"{CONFIG_DIR}/config.hcl"
SELF_INIT_DIR: Final = "/etc/bao/config-init"
SELF_INIT_FILE: Final = f"{SELF_INIT_DIR}/config.hcl"
"""The ``initialize`` blocks, from the Secret ``<name>-config-init`` (path and key as the reference's ConfigMap)."""
TLS_DIR: Final = "/etc/bao/tls"
TLS_CERT_FILE: Final = f"{TLS_DIR}/tls.crt"
TLS_KEY_FILE: Final = f"{TLS_DIR}/tls.key"
TLS_CA_FILE: Final = f"{TLS_DIR}/ca.crt"
UNSEAL_DIR: Final = "/etc/bao/unseal"
UNSEAL_KEY_FILE: Final = f"{UNSEAL_DIR}/key"
UNSEAL_PREVIOUS_DIR: Final = "/etc/bao/unseal-previous"
UNSEAL_PREVIOUS_KEY_FILE: Final = f"{UNSEAL_PREVIOUS_DIR}/key"
SEAL_CREDS_DIR: Final = "/etc/bao/seal-creds"
DATA_DIR: Final = "/bao/data"
PLUGIN_DIR: Final = "/openbao/plugins"
TMP_DIR: Final = "/tmp"  # noqa: S108 - an emptyDir mount point in the pod, not a host path

SERVICE_ACCOUNT_DIR: Final = "/var/run/secrets/kubernetes.io/serviceaccount"
CONFIG_FILE_KEY: Final = "config.hcl"
UNSEAL_KEY_KEY: Final = "key"

# Labels and annotations.
LABEL_NAME: Final = "app.kubernetes.io/name"
LABEL_INSTANCE: Final = "app.kubernetes.io/instance"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
LABEL_CLUSTER: Final = "openbao.org/cluster"
MANAGED_BY: Final = "openbao-operator"
ANNOTATION_CONFIG_HASH: Final = "openbao.org/config-hash"
ANNOTATION_RESTART_AT: Final = "openbao.org/restart-at"
ANNOTATION_TLS_HASH: Final = "openbao.org/tls-cert-hash"
ANNOTATION_MAINTENANCE: Final = "openbao.org/maintenance"

# Labels OpenBao's service registration writes on its own pod at runtime; never rendered, never
# compared, never selected on by the StatefulSet.
LABEL_ACTIVE: Final = "openbao-active"
SERVICE_REGISTRATION_LABELS: Final = (
    "openbao-active",
    "openbao-initialized",
    "openbao-sealed",
    "openbao-perf-standby",
    "openbao-version",
)

DEFAULT_IMAGE_REPOSITORY: Final = "quay.io/openbao/openbao"

SERVER_CLUSTER_ROLE: Final = "openbao-server"
"""The pre-installed ClusterRole (deploy/rbac-roles.yaml) with what OpenBao itself calls the API server for."""


def infra_labels(cluster: OpenBaoCluster) -> dict[str, str]:
    """The labels every object of the cluster carries, and the pods' selector."""
    name = cluster.metadata.name
    return {
        LABEL_NAME: "openbao",
        LABEL_INSTANCE: name,
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_CLUSTER: name,
    }


def statefulset_name(cluster: OpenBaoCluster) -> str:
    return cluster.metadata.name


def headless_service_name(cluster: OpenBaoCluster) -> str:
    return cluster.metadata.name


def config_map_name(cluster: OpenBaoCluster) -> str:
    return f"{cluster.metadata.name}-config"


def self_init_secret_name(cluster: OpenBaoCluster) -> str:
    """Secret with the self-init requests (the reference's ConfigMap of the same name; a Secret here)."""
    return f"{cluster.metadata.name}-config-init"


def unseal_secret_name(cluster: OpenBaoCluster) -> str:
    return f"{cluster.metadata.name}-unseal-key"


def tls_ca_secret_name(cluster: OpenBaoCluster) -> str:
    return f"{cluster.metadata.name}-tls-ca"


def tls_server_secret_name(cluster: OpenBaoCluster) -> str:
    return f"{cluster.metadata.name}-tls-server"


def public_service_name(cluster: OpenBaoCluster) -> str:
    return f"{cluster.metadata.name}-public"


def active_service_name(cluster: OpenBaoCluster) -> str:
    return f"{cluster.metadata.name}-active"


def acme_service_name(cluster: OpenBaoCluster) -> str:
    return f"{cluster.metadata.name}-acme"


def acme_domains(cluster: OpenBaoCluster, *, namespace: str) -> list[str]:
    """The ACME domains: spec.tls.acme.domains, the deprecated domain, or ``<name>-acme.<ns>.svc``."""
    acme = cluster.spec.tls.acme
    given = (acme.domains or ([acme.domain] if acme.domain else [])) if acme is not None else []
    unique = list(dict.fromkeys(d.strip() for d in given if d.strip()))
    return unique or [f"{acme_service_name(cluster)}.{namespace}.svc"]


def service_account_name(cluster: OpenBaoCluster) -> str:
    sa = cluster.spec.service_account
    return sa.name if sa is not None and sa.name else f"{cluster.metadata.name}-serviceaccount"


def role_binding_name(cluster: OpenBaoCluster) -> str:
    """The pods' RoleBinding to :data:`SERVER_CLUSTER_ROLE` (render/workload/identity.py)."""
    return f"{service_account_name(cluster)}-{SERVER_CLUSTER_ROLE}"


def pdb_name(cluster: OpenBaoCluster) -> str:
    return f"{cluster.metadata.name}-pdb"


def network_policy_name(cluster: OpenBaoCluster) -> str:
    return f"{cluster.metadata.name}-network-policy"


def ingress_name(cluster: OpenBaoCluster) -> str:
    return cluster.metadata.name


def http_route_name(cluster: OpenBaoCluster) -> str:
    return f"{cluster.metadata.name}-httproute"


def tls_route_name(cluster: OpenBaoCluster) -> str:
    return f"{cluster.metadata.name}-tlsroute"


def backend_tls_policy_name(cluster: OpenBaoCluster) -> str:
    return f"{cluster.metadata.name}-backend-tls-policy"


def gateway_ca_config_map_name(cluster: OpenBaoCluster) -> str:
    """ConfigMap with the public CA certificate the Gateway verifies OpenBao with (same name as the CA Secret)."""
    return f"{cluster.metadata.name}-tls-ca"


def pod_dns_name(cluster: OpenBaoCluster, *, ordinal: int, namespace: str) -> str:
    """The stable DNS name of pod `ordinal` behind the headless Service (without the cluster domain)."""
    name = cluster.metadata.name
    return f"{name}-{ordinal}.{headless_service_name(cluster)}.{namespace}.svc"


def default_image(cluster: OpenBaoCluster) -> str:
    version = cluster.spec.version.strip().removeprefix("v")
    return f"{DEFAULT_IMAGE_REPOSITORY}:{version}"


# Executor Jobs (backup, restore): their names, labels and ServiceAccounts.
LABEL_COMPONENT: Final = "openbao.org/component"
"""``backup`` or ``restore`` on an executor Job and its pod (the reference's label; its NetworkPolicies and
PodDisruptionBudget select on it)."""
JOB_NAME_MAX: Final = 63
"""A Job's name becomes the value of its pods' ``batch.kubernetes.io/job-name`` label: at most 63 characters."""


def executor_service_account_name(cluster_name: str, kind: str) -> str:
    """``<cluster>-backup-serviceaccount`` / ``<cluster>-restore-serviceaccount`` (the reference's names; the JWT
    roles selfInit.oidc creates are bound to exactly these)."""
    return f"{cluster_name}-{kind}-serviceaccount"


def executor_job_name(cluster_name: str, kind: str, *, key: str) -> str:
    """``<cluster>-<kind>-<10 hex>``, the hex from ``key`` (cluster uid plus the slot, trigger or restore uid):
    the same attempt always has the same name, so a pass that crashed after creating the Job finds it again
    instead of starting a second one. The cluster name is shortened to keep the name within 63 characters."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    room = JOB_NAME_MAX - len(kind) - len(digest) - 2
    return f"{cluster_name[:room].rstrip('-')}-{kind}-{digest}"
