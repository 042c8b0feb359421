"""`status` of an OpenBaoCluster, and the condition vocabulary a person reads to follow progress.

Condition types and reasons of the reference operator are kept so that dashboards and `kubectl wait`
recipes keep working; the types added here say what the reference leaves implicit (configuration
errors, fields accepted but not acted on, rollout progress).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from .base import ApiModel

Phase = Literal["Pending", "Initializing", "Running", "Upgrading", "BackingUp", "Failed"]


class ConditionType(StrEnum):
    """Condition types; the first group is the reference operator's."""

    AVAILABLE = "Available"
    TLS_READY = "TLSReady"
    PRODUCTION_READY = "ProductionReady"
    DEGRADED = "Degraded"
    UPGRADING = "Upgrading"
    BACKING_UP = "BackingUp"
    SECURITY_RISK = "SecurityRisk"
    OPENBAO_INITIALIZED = "OpenBaoInitialized"
    OPENBAO_SEALED = "OpenBaoSealed"
    OPENBAO_LEADER = "OpenBaoLeader"
    NODE_SECURITY_CAPABILITY_MISMATCH = "NodeSecurityCapabilityMismatch"
    # Added here:
    CONFIGURATION_VALID = "ConfigurationValid"
    """False when the spec cannot be rendered; the message names the field and the remedy."""
    FIELDS_IGNORED = "FieldsIgnored"
    """True when the spec sets fields that are accepted for compatibility but not acted on; names them."""
    PROGRESSING = "Progressing"
    """True while a rollout replaces pods; the message says which pod and what it waits for."""
    IMAGE_VERIFIED = "ImageVerified"
    """Result of image signature verification, when enabled."""
    PAUSED = "Paused"
    """True while spec.paused is set."""
    UNSEAL_KEY_ROTATING = "UnsealKeyRotating"
    """Static seal only: True while a key rotation waits for OpenBao to rewrap with the new key."""
    TENANT_ONBOARDED = "TenantOnboarded"
    """False while the cluster's namespace has not opted in (no OpenBaoTenant): says how to opt in."""


class Condition(ApiModel):
    """The standard Kubernetes condition (metav1.Condition)."""

    type: Annotated[
        str,
        Field(
            min_length=1,
            max_length=316,
            pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        ),
    ]
    """Condition type, such as Available."""
    status: Literal["True", "False", "Unknown"]
    """True, False or Unknown."""
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The .metadata.generation the condition was set for."""
    last_transition_time: str
    """When the status last changed (RFC 3339)."""
    reason: Annotated[str, Field(min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")]
    """CamelCase reason, for programs."""
    message: Annotated[str, Field(max_length=32768)]
    """What happened and what to do, for people."""


class LastError(ApiModel):
    """The last reconcile error of a controller."""

    reason: str
    """CamelCase reason."""
    message: str
    """Human-readable message."""
    at: str | None = None
    """When it happened (RFC 3339)."""


class WorkloadStatus(ApiModel):
    """State of the workload controller."""

    last_error: LastError | None = None
    """The last error, cleared on success."""


class RolloutStatus(ApiModel):
    """Progress of an ordered rollout."""

    target_revision: str | None = None
    """The pod-template revision being rolled out."""
    updated_replicas: Annotated[int, Field(ge=0)] | None = None
    """Pods already on the target revision."""
    waiting_for: str | None = None
    """What the rollout waits for, such as a pod becoming Ready."""


class OpenBaoClusterStatus(ApiModel):
    """Observed state of the cluster, written by the operator."""

    phase: Phase | None = None
    """Pending, Initializing, Running, Upgrading, BackingUp or Failed."""
    ready_replicas: Annotated[int, Field(ge=0)] | None = None
    """Pods that are Ready (unsealed and serving)."""
    initialized: bool | None = None
    """OpenBao has been initialized."""
    self_initialized: bool | None = None
    """OpenBao initialized itself through selfInit."""
    active_leader: str | None = None
    """Pod name of the active node."""
    current_version: str | None = None
    """OpenBao version all pods run."""
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The .metadata.generation the status reflects."""
    verified_image_digest: str | None = None
    """The image reference (repo@sha256:...) whose signature was verified and is applied."""
    rollout: RolloutStatus | None = None
    """Progress of the current rollout."""
    workload: WorkloadStatus | None = None
    """Workload controller state."""
    conditions: list[Condition] | None = Field(
        default=None,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    """Conditions, one per type."""
