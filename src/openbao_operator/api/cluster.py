"""The OpenBaoCluster resource: spec, metadata, and the cluster-level rules."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import ApiModel
from .configuration import AuditDevice, ObservabilityConfig, OpenBaoConfiguration, Plugin, TelemetryConfig
from .constants import API_VERSION as API_VERSION
from .constants import GROUP as GROUP
from .constants import KIND as KIND
from .constants import PLURAL as PLURAL
from .constants import VERSION as VERSION
from .k8s import (
    Affinity,
    LabelKey,
    LocalObjectReference,
    PodSecurityContext,
    ResourceRequirements,
    Toleration,
    TopologySpreadConstraint,
)
from .networking import GatewayConfig, IngressConfig, NetworkConfig, ServiceConfig
from .operations import BackupConfig, RestoreConfig, UpgradeConfig
from .profile import HARDENED_RULES
from .seal import UnsealConfig
from .selfinit import SelfInitConfig
from .status import OpenBaoClusterStatus
from .tls import TlsConfig
from .types import DNS_LABEL_REGEX, EMPTY_IS_UNSET, ImageRef, ObjectName, OpenBaoVersion, Pattern
from .workload import (
    ImageVerificationConfig,
    InitContainerConfig,
    MaintenanceConfig,
    ServiceAccountConfig,
    StorageConfig,
    WorkloadHardeningConfig,
)

NAMESPACE_MESSAGE = "must be a DNS label of at most 63 characters: lower-case letters, digits and '-'"
"""What a namespace may be (the API server's rule; `render` checks it because its input never met one)."""

MAX_NAME_LENGTH = 52
"""Longest cluster name: the StatefulSet's pods get a controller-revision-hash label `<name>-<10 chars>`,
and label values are limited to 63 characters."""


class OpenBaoClusterSpec(ApiModel):
    """The desired OpenBao cluster."""

    rules = HARDENED_RULES

    version: OpenBaoVersion
    """OpenBao version, such as 2.4.1. Selects the default image tag and version-dependent options."""
    image: Annotated[ImageRef | None, EMPTY_IS_UNSET] = None
    """OpenBao image (default quay.io/openbao/openbao:<version>); the official image or its distroless variant."""
    image_pull_secrets: list[LocalObjectReference] | None = None
    """Pull secrets of the pods."""
    replicas: Annotated[int, Field(ge=1, le=99)] = 3
    """Number of OpenBao pods (raft voters). 3 or 5 for high availability."""
    paused: bool = False
    """Stop reconciling this cluster (deletion is still handled)."""
    maintenance: MaintenanceConfig | None = None
    """Maintenance mode and explicit restarts."""
    init_container: InitContainerConfig | None = None
    """Accepted for compatibility with the reference operator and ignored (no init container is used)."""
    tls: TlsConfig
    """TLS of the listener and of raft traffic."""
    unseal: UnsealConfig | None = None
    """Seal configuration (default: the operator-generated static key)."""
    storage: StorageConfig
    """Raft data volumes."""
    service: ServiceConfig | None = None
    """External Service <name>-public; present (even empty) means created."""
    ingress: IngressConfig | None = None
    """Ingress in front of the external Service."""
    gateway: GatewayConfig | None = None
    """Gateway API routes."""
    network: NetworkConfig | None = None
    """NetworkPolicy settings."""
    configuration: OpenBaoConfiguration | None = None
    """Typed server options for config.hcl."""
    audit: list[AuditDevice] | None = None
    """Declarative audit devices."""
    plugins: list[Plugin] | None = None
    """Declarative plugins."""
    telemetry: TelemetryConfig | None = None
    """Telemetry stanza."""
    observability: ObservabilityConfig | None = None
    """Metrics and monitoring."""
    self_init: SelfInitConfig | None = None
    """OpenBao self-initialization."""
    profile: Literal["Hardened", "Development"] | None = None
    """Security profile. Hardened demands production settings; Development allows shortcuts and is reported
    as a security risk. Unset is treated as Development and reported (the reference operator refuses to
    reconcile instead)."""
    service_account: ServiceAccountConfig | None = None
    """The pods' ServiceAccount."""
    security_context: PodSecurityContext | None = None
    """Per-field overrides of the restricted pod security context."""
    workload_hardening: WorkloadHardeningConfig | None = None
    """Optional pod hardening."""
    image_verification: ImageVerificationConfig | None = None
    """Signature verification of the OpenBao image."""
    operator_image_verification: ImageVerificationConfig | None = None
    """Accepted for compatibility: verifies the reference operator's init-container image, which is not used here."""
    root_token_policy: Literal["Store", "Revoke"] = "Store"  # noqa: S105 (a policy name)
    """Without selfInit the operator initializes OpenBao and receives a root token and a recovery key, kept in
    the Secret `<name>-root-token`. Store (as the reference operator does) keeps the token there; the operator
    uses it to step a leader down before replacing it and to remove raft peers when scaling down. Revoke
    revokes it in OpenBao right after it is stored and removes it from the Secret, which keeps the recovery key
    (`bao operator generate-root` makes a new root token from it); rollouts then rely on the leader's graceful
    shutdown, and departed raft peers are left to autopilot's dead-server cleanup. Not used with selfInit,
    which hands out no root token."""
    deletion_policy: Literal["Retain", "DeletePVCs", "DeleteAll"] = "Retain"
    """What happens to data when the cluster is deleted. Retain keeps PVCs and the unseal key; DeletePVCs deletes
    the PVCs; DeleteAll also deletes the unseal key."""
    upgrade: UpgradeConfig | None = None
    """Rollout strategy."""
    backup: BackupConfig | None = None
    """Scheduled backups, as the reference operator defines them; not scheduled by the operator yet (reported in
    status; docs/backup-restore.md)."""
    restore: RestoreConfig | None = None
    """Restore bootstrap, as the reference operator defines it: the restore role selfInit.oidc creates."""
    break_glass_ack: str | None = None
    """Accepted for compatibility with the reference operator; not used."""
    resources: ResourceRequirements | None = None
    """CPU and memory of the OpenBao container."""
    affinity: Affinity | None = None
    """Scheduling affinity (default: soft anti-affinity across nodes)."""
    tolerations: list[Toleration] | None = None
    """Tolerations of the pods."""
    node_selector: dict[LabelKey, str] | None = None
    """Node labels the pods require."""
    topology_spread_constraints: list[TopologySpreadConstraint] | None = None
    """How the pods spread across zones or nodes."""
    priority_class_name: ObjectName | None = None
    """PriorityClass of the pods."""
    pod_labels: dict[LabelKey, str] | None = None
    """Extra labels on the pods (the operator's own labels win)."""
    pod_annotations: dict[str, str] | None = None
    """Extra annotations on the pods (the operator's own annotations win)."""


class ObjectMeta(ApiModel):
    """The part of metadata the operator reads; everything else is passed through untouched."""

    model_config = {"extra": "allow"}

    name: Annotated[
        str,
        Pattern(
            DNS_LABEL_REGEX,
            f"must be a DNS label of at most {MAX_NAME_LENGTH} characters: lower-case letters, digits and '-'",
            MAX_NAME_LENGTH,
        ),
    ]
    """Cluster name; prefixes every object the operator creates."""
    namespace: Annotated[str, Pattern(DNS_LABEL_REGEX, NAMESPACE_MESSAGE, 63)] | None = None
    """Namespace of the cluster (it is written into config.hcl's go-discover ``auto_join`` string)."""
    labels: dict[str, str] | None = None
    """Labels."""
    annotations: dict[str, str] | None = None
    """Annotations."""


class OpenBaoCluster(ApiModel):
    """An OpenBao cluster managed by the operator."""

    api_version: Literal["openbao.org/v1alpha1"] = Field(alias="apiVersion")
    """openbao.org/v1alpha1."""
    kind: Literal["OpenBaoCluster"]
    """OpenBaoCluster."""
    metadata: ObjectMeta
    """Standard object metadata."""
    spec: OpenBaoClusterSpec
    """The desired cluster."""
    status: OpenBaoClusterStatus | None = None
    """The observed state, written by the operator."""
