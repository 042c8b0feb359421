"""`status` of an OpenBaoCluster, and the condition vocabulary a person reads to follow progress.

Condition types and reasons of the reference operator are kept so that dashboards and `kubectl wait`
recipes keep working; the types added here say what the reference leaves implicit (configuration
errors, fields accepted but not acted on, rollout progress).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import ApiModel
from .constants import ConditionType as ConditionType

Phase = Literal["Pending", "Initializing", "Running", "Upgrading", "BackingUp", "Failed"]


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


ClusterOperation = Literal["Upgrade", "Backup", "Restore"]
"""Operations that exclude each other on one cluster (the reference operator's names)."""


class OperationLockStatus(ApiModel):
    """Which long-running operation owns the cluster now; the others wait (the reference's operationLock)."""

    model_config = {**ApiModel.model_config, "json_schema_extra": {"x-kubernetes-map-type": "atomic"}}

    operation: ClusterOperation | None = None
    """Upgrade, Backup or Restore."""
    holder: str | None = None
    """Who holds it: backup/<Job name> or restore/<OpenBaoRestore name>."""
    message: str | None = None
    """Why it is held, for people."""
    acquired_at: str | None = None
    """When it was taken (RFC 3339)."""
    renewed_at: str | None = None
    """When the holder last confirmed it (RFC 3339); a lock not renewed for long and whose holder is gone is
    stale and may be taken over."""


class BackupStatus(ApiModel):
    """Scheduled and manual backups of the cluster (the reference's status.backup)."""

    last_backup_time: str | None = None
    """When the last successful backup finished (RFC 3339)."""
    last_attempt_time: str | None = None
    """When the last backup attempt started, whatever its outcome (RFC 3339)."""
    last_attempt_scheduled_time: str | None = None
    """The schedule slot of the last scheduled attempt (RFC 3339): each slot runs at most once."""
    last_handled_manual_trigger: str | None = None
    """The last value of the openbao.org/trigger-backup annotation that started a backup."""
    last_backup_size: Annotated[int, Field(ge=0)] | None = None
    """Size in bytes of the last successful backup."""
    last_backup_duration: str | None = None
    """How long the last successful backup took, such as 45s."""
    last_backup_name: str | None = None
    """Object key of the last successful backup."""
    next_scheduled_backup: str | None = None
    """When the next scheduled backup starts, jitter included (RFC 3339)."""
    consecutive_failures: Annotated[int, Field(ge=0)] | None = None
    """Backup attempts that failed in a row (0 after a success)."""
    last_failure_reason: str | None = None
    """CamelCase reason of the last failure."""
    last_failure_message: str | None = None
    """What went wrong the last time, for people."""
    last_failure_time: str | None = None
    """When the last failure was recorded (RFC 3339)."""
    job_name: str | None = None
    """The executor Job of the attempt in flight (not in the reference operator)."""


UpgradePhase = Literal["PreUpgradeSnapshot", "Rolling", "Stopped", "RollingBack", "RolledBack", "Completed"]
UpgradePodState = Literal["Pending", "Replacing", "Healthy", "Failed"]


class UpgradePodStatus(ApiModel):
    """One pod of an upgrade."""

    name: str
    """Pod name."""
    state: UpgradePodState
    """Pending (not replaced yet), Replacing (replaced, its health gate not passed yet), Healthy or Failed."""
    version: str | None = None
    """The OpenBao version the pod runs, as far as it is known."""


class UpgradeStatus(ApiModel):
    """An OpenBao version upgrade: where it is, pod by pod (controller/upgrades.py, docs/upgrades.md)."""

    phase: UpgradePhase
    """PreUpgradeSnapshot, Rolling, Stopped, RollingBack, RolledBack or Completed."""
    from_version: str
    """The version the cluster ran when the upgrade started."""
    target_version: str
    """spec.version when the upgrade started."""
    from_image: str | None = None
    """The OpenBao image the pods ran at fromVersion (a verified digest or a tag): what a hold or a rollback
    renders again."""
    started_at: str | None = None
    """When the upgrade started (RFC 3339)."""
    finished_at: str | None = None
    """When it completed, stopped or finished rolling back (RFC 3339)."""
    snapshot_job: str | None = None
    """The executor Job of the pre-upgrade snapshot."""
    snapshot: str | None = None
    """The object key of the pre-upgrade snapshot (taken at fromVersion)."""
    new_version_was_active: bool | None = None
    """A pod of targetVersion has been the active node: OpenBao may have migrated its data since."""
    stopped_pod: str | None = None
    """The pod whose health gate stopped the upgrade."""
    reason: str | None = None
    """CamelCase reason of the stop (CrashLooping, HealthTimeout, WrongVersion, PreUpgradeSnapshotFailed...)."""
    message: str | None = None
    """What happened and what to do, for people."""
    pods: list[UpgradePodStatus] | None = None
    """Progress per pod, by ordinal."""


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
    backup: BackupStatus | None = None
    """Backups: last attempt, last success, consecutive failures, next run."""
    operation_lock: OperationLockStatus | None = None
    """The operation (backup, restore, upgrade) that owns the cluster now, if any."""
    upgrade: UpgradeStatus | None = None
    """The last OpenBao version upgrade: phase, from/to, progress per pod."""
    conditions: list[Condition] | None = Field(
        default=None,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    """Conditions, one per type."""
