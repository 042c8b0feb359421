"""Every name, label, annotation, port and in-pod path the operator gives a cluster's objects, in one place.

They follow the reference operator, so its manifests, dashboards and
label selectors keep working, and its clusters are adopted with their Secrets. Why in the API package:
render, pki, seal and the controller all need them and may not import each other, so this is the lowest
layer they share. A path that config.hcl points at and the volume mount that puts a file there, a
Secret the pki writes and the volume render mounts, the labels seal puts on a key Secret and the
selector the controller lists them by: each is one constant here and can never drift apart.

Secret names depend on the cluster's name only; the functions that other layers call with nothing but
the name accept either the cluster or its name (:data:`ClusterRef`).
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from .constants import API_VERSION, KIND, ROTATION_ID_REGEX, STATIC_KEY_ID

if TYPE_CHECKING:
    from .cluster import OpenBaoCluster

    ClusterRef: TypeAlias = OpenBaoCluster | str
    """A cluster, or just its metadata.name (all a Secret name depends on)."""

# NB: the models are imported for type checking only: the process start path reads labels and selectors from
# here, and importing the models would build every pydantic model first (issue 20).


def _name(cluster: ClusterRef) -> str:
    return cluster if isinstance(cluster, str) else cluster.metadata.name


API_PORT: Final = 8200
CLUSTER_PORT: Final = 8201

# The two TLS Secrets (the reference operator's names and keys). `<name>-tls-ca` (Opaque) holds the signing CA and,
# during a CA rollover, the staged successor; it is never mounted into pods. `<name>-tls-server`
# (kubernetes.io/tls) is what the pods mount at TLS_DIR: the server certificate, its key and the trust
# bundle (`ca.crt`, one or more CAs).
CA_SECRET_TYPE: Final = "Opaque"  # noqa: S105 - a Secret type, not a password
SERVER_SECRET_TYPE: Final = "kubernetes.io/tls"  # noqa: S105 - a Secret type, not a password
CA_CERT: Final = "ca.crt"
"""In `<name>-tls-ca`: the signing CA (exactly the certificate of `ca.key`)."""
CA_KEY: Final = "ca.key"
NEXT_CA_CERT: Final = "next-ca.crt"
"""In `<name>-tls-ca`, during a CA rollover only: the successor, already trusted, not yet signing."""
NEXT_CA_KEY: Final = "next-ca.key"
TLS_CERT: Final = "tls.crt"
"""In `<name>-tls-server`: the server certificate (leaf first, then any intermediates)."""
TLS_KEY: Final = "tls.key"
TRUST_BUNDLE: Final = "ca.crt"
"""In `<name>-tls-server`: every CA a pod must trust right now (signer, staged successor, retired)."""
CA_SECRET_KEYS: Final = (CA_CERT, CA_KEY, NEXT_CA_CERT, NEXT_CA_KEY)
SERVER_SECRET_KEYS: Final = (TLS_CERT, TLS_KEY, TRUST_BUNDLE)

RAFT_TLS_SERVER_NAME_PREFIX: Final = "openbao-cluster-"
RAFT_TLS_SERVER_NAME_SUFFIX: Final = ".local"

CONFIG_FILE_KEY: Final = "config.hcl"
UNSEAL_KEY_KEY: Final = "key"
"""The data key of an unseal key Secret; mounted as the file UNSEAL_KEY_FILE."""

# Where files are inside the pod.
CONFIG_DIR: Final = "/etc/bao/config"
CONFIG_FILE: Final = f"{CONFIG_DIR}/config.hcl"
SELF_INIT_DIR: Final = "/etc/bao/config-init"
SELF_INIT_FILE: Final = f"{SELF_INIT_DIR}/config.hcl"
"""The ``initialize`` blocks, from the Secret ``<name>-config-init`` (path and key as the reference's ConfigMap)."""
TLS_DIR: Final = "/etc/bao/tls"
TLS_CERT_FILE: Final = f"{TLS_DIR}/{TLS_CERT}"
TLS_KEY_FILE: Final = f"{TLS_DIR}/{TLS_KEY}"
TLS_CA_FILE: Final = f"{TLS_DIR}/{TRUST_BUNDLE}"
UNSEAL_DIR: Final = "/etc/bao/unseal"
UNSEAL_KEY_FILE: Final = f"{UNSEAL_DIR}/{UNSEAL_KEY_KEY}"
UNSEAL_PREVIOUS_DIR: Final = "/etc/bao/unseal-previous"
UNSEAL_PREVIOUS_KEY_FILE: Final = f"{UNSEAL_PREVIOUS_DIR}/{UNSEAL_KEY_KEY}"
SEAL_CREDS_DIR: Final = "/etc/bao/seal-creds"
DATA_DIR: Final = "/bao/data"
PLUGIN_DIR: Final = "/openbao/plugins"
TMP_DIR: Final = "/tmp"  # noqa: S108 - an emptyDir mount point in the pod, not a host path

SERVICE_ACCOUNT_DIR: Final = "/var/run/secrets/kubernetes.io/serviceaccount"

# Labels and annotations.
LABEL_NAME: Final = "app.kubernetes.io/name"
LABEL_INSTANCE: Final = "app.kubernetes.io/instance"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
LABEL_CLUSTER: Final = "openbao.org/cluster"
OPERATOR_NAME: Final = "openbao-operator"
MANAGED_BY: Final = OPERATOR_NAME
ANNOTATION_CONFIG_HASH: Final = "openbao.org/config-hash"
ANNOTATION_RESTART_AT: Final = "openbao.org/restart-at"
ANNOTATION_TLS_HASH: Final = "openbao.org/tls-cert-hash"
ANNOTATION_MAINTENANCE: Final = "openbao.org/maintenance"
ANNOTATION_VERSION: Final = "openbao.org/version"
"""On the StatefulSet: the OpenBao version its pod template runs (the upgrade step reads it)."""
LABEL_COMPONENT: Final = "app.kubernetes.io/component"
"""What the root-token Secret is for; not part of the pods' selector."""
LABEL_OPENBAO_COMPONENT: Final = "openbao.org/component"
"""What a Secret of the cluster holds (unseal-key, self-init), or ``backup``/``restore`` on an executor Job and its
pod (the reference's label); not part of the pods' selector."""
MANAGED_BY_SELECTOR: Final = {LABEL_MANAGED_BY: MANAGED_BY}
"""What the informers select on: every object the operator manages for any cluster."""

# The static unseal key Secrets (seal/secret.py owns their lifecycle). Metadata records what the data
# cannot: the key id OpenBao stores next to wrapped data, the key this one replaced, whether OpenBao has
# rewrapped with it, and a hint naming its successor.
UNSEAL_KEY_SECRET_SUFFIX: Final = "-unseal-key"  # noqa: S105 - a name suffix, not a password
ANNOTATION_UNSEAL_KEY_ID: Final = "openbao.org/unseal-key-id"
ANNOTATION_UNSEAL_KEY_PREDECESSOR: Final = "openbao.org/unseal-key-predecessor"
ANNOTATION_UNSEAL_KEY_REWRAPPED: Final = "openbao.org/unseal-key-rewrapped"
ANNOTATION_UNSEAL_KEY_SUCCESSOR: Final = "openbao.org/unseal-key-successor"
UNSEAL_KEY_COMPONENT: Final = "unseal-key"
ROTATED_KEY_ID_PREFIX: Final = "operator-rotated-"
ROTATION_ID_PATTERN: Final = re.compile(ROTATION_ID_REGEX)
"""What a rotation id may look like (it becomes part of a Secret name and of the key id); the API's
spec.unseal.static.rotationID is validated with the same expression."""

# The operator's own objects (its CRDs, admission policies and pods), not a cluster's.
OPERATOR_LABELS: Final = {LABEL_NAME: OPERATOR_NAME, "app.kubernetes.io/part-of": OPERATOR_NAME}

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


def infra_labels(cluster: ClusterRef) -> dict[str, str]:
    """The labels every object of the cluster carries, and the pods' selector."""
    name = _name(cluster)
    return {
        LABEL_NAME: "openbao",
        LABEL_INSTANCE: name,
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_CLUSTER: name,
    }


def controller_owner_reference(cluster: ClusterRef, uid: str) -> dict[str, Any]:
    """The ownerReference that makes the cluster an object's controller (garbage-collected with it)."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": _name(cluster),
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
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


def unseal_key_secret_name(cluster: ClusterRef, rotation_id: str | None = None) -> str:
    """`<name>-unseal-key` for the first key, `<name>-unseal-key-<rotationID>` after a rotation."""
    base = f"{_name(cluster)}{UNSEAL_KEY_SECRET_SUFFIX}"
    return base if rotation_id is None else f"{base}-{rotation_id}"


def is_unseal_key_secret_name(cluster: ClusterRef, secret_name: str) -> bool:
    """True for the names `unseal_key_secret_name` can produce for this cluster."""
    base = unseal_key_secret_name(cluster)
    if secret_name == base:
        return True
    return secret_name.startswith(f"{base}-") and bool(ROTATION_ID_PATTERN.fullmatch(secret_name[len(base) + 1 :]))


def initial_unseal_key_id(cluster: OpenBaoCluster) -> str:
    """The id of the first key: spec.unseal.static.currentKeyID (default operator-generated-v1)."""
    unseal = cluster.spec.unseal
    static = unseal.static if unseal is not None else None
    return (static.current_key_id if static is not None else None) or STATIC_KEY_ID


def rotated_unseal_key_id(rotation_id: str) -> str:
    """The id of a key created by a rotation; never equal to the default initial id."""
    return f"{ROTATED_KEY_ID_PREFIX}{rotation_id}"


def root_token_secret_name(cluster: ClusterRef) -> str:
    return f"{_name(cluster)}-root-token"


def tls_ca_secret_name(cluster: ClusterRef) -> str:
    return f"{_name(cluster)}-tls-ca"


def tls_server_secret_name(cluster: ClusterRef) -> str:
    return f"{_name(cluster)}-tls-server"


def raft_tls_server_name(cluster: ClusterRef) -> str:
    """The `retry_join.leader_tls_servername` every pod verifies its leader against (file-based TLS).

    Same value as the reference operator (`openbao-cluster-<name>.local`), so External certificates made
    for the reference keep working.
    """
    return f"{RAFT_TLS_SERVER_NAME_PREFIX}{_name(cluster)}{RAFT_TLS_SERVER_NAME_SUFFIX}"


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
    return tls_ca_secret_name(cluster)


def pod_dns_name(cluster: OpenBaoCluster, *, ordinal: int, namespace: str, cluster_domain: str | None = None) -> str:
    """The stable DNS name of pod `ordinal` behind the headless Service (with the cluster domain if given)."""
    name = cluster.metadata.name
    suffix = f".{cluster_domain}" if cluster_domain else ""
    return f"{name}-{ordinal}.{headless_service_name(cluster)}.{namespace}.svc{suffix}"


def default_image(cluster: OpenBaoCluster) -> str:
    version = cluster.spec.version.strip().removeprefix("v")
    return f"{DEFAULT_IMAGE_REPOSITORY}:{version}"


# Executor Jobs (backup, restore): their names and ServiceAccounts.
JOB_NAME_MAX: Final = 63
"""A Job's name becomes the value of its pods' ``batch.kubernetes.io/job-name`` label: at most 63 characters."""


def executor_service_account_name(cluster_name: str, kind: str) -> str:
    """``<cluster>-backup-serviceaccount`` / ``<cluster>-restore-serviceaccount`` (the reference's names; the JWT
    roles selfInit.oidc creates are bound to exactly these)."""
    return f"{cluster_name}-{kind}-serviceaccount"


EXECUTOR_APP_NAME = "openbao-executor"
"""``app.kubernetes.io/name`` of the executor Jobs' pods."""


def executor_pod_selector(cluster_name: str) -> dict[str, str]:
    """The labels every executor pod of the cluster carries (backup and restore alike): what the cluster's
    NetworkPolicy admits to the API port."""
    return {LABEL_NAME: EXECUTOR_APP_NAME, LABEL_CLUSTER: cluster_name}


def executor_job_name(cluster_name: str, kind: str, *, key: str) -> str:
    """``<cluster>-<kind>-<10 hex>``, the hex from ``key`` (cluster uid plus the slot, trigger or restore uid):
    the same attempt always has the same name, so a pass that crashed after creating the Job finds it again
    instead of starting a second one. The cluster name is shortened to keep the name within 63 characters."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    room = JOB_NAME_MAX - len(kind) - len(digest) - 2
    return f"{cluster_name[:room].rstrip('-')}-{kind}-{digest}"
