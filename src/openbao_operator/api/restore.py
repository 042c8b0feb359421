"""The OpenBaoRestore resource: a one-shot request to restore a raft snapshot into an OpenBaoCluster.

Why a kind of its own (as the reference operator has it): a restore overwrites every secret of the target
cluster, so it is an explicit, auditable request that is immutable once created, not a field someone edits
on the cluster. Field names, meanings and status phases follow the reference's `OpenBaoRestore`, so its
manifests apply unchanged. The restore itself runs in an executor Job (``openbao-operator restore``), never
in the operator: the operator never holds snapshot bytes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import ApiModel, Rule
from .k8s import LocalObjectReference
from .operations import BackupTarget
from .status import Condition
from .types import DNS_LABEL_REGEX, ImageRef, Pattern

RESTORE_KIND = "OpenBaoRestore"
RESTORE_PLURAL = "openbaorestores"

RestorePhase = Literal["Pending", "Validating", "Running", "Completed", "Failed"]


class RestoreSource(ApiModel):
    """Where the snapshot is."""

    target: BackupTarget
    """The object storage holding the snapshot (the same settings as spec.backup.target of a cluster)."""
    key: Annotated[str, Field(min_length=1, max_length=1024)]
    """Full key of the snapshot object in the bucket, such as clusters/prod/2025-10-14T120000Z-1a2b3c4d.snap.
    Its metadata object (the key plus .json, written by the backup executor) must exist beside it: its
    SHA-256 is checked before anything is sent to OpenBao."""


class OpenBaoRestoreSpec(ApiModel):
    """A restore request; immutable after creation."""

    rules = (
        Rule(
            cel="!self.overrideOperationLock || self.force",
            check=lambda m: not m.override_operation_lock or m.force,
            message="overrideOperationLock requires force: true (it is a break-glass option for disaster recovery)",
            field="overrideOperationLock",
        ),
    )

    cluster: Annotated[str, Pattern(DNS_LABEL_REGEX, "must be the name of an OpenBaoCluster in the same namespace", 63)]
    """Name of the OpenBaoCluster to restore into, in the same namespace."""
    source: RestoreSource
    """The snapshot to restore."""
    jwt_auth_role: str | None = None
    """JWT auth role the restore executor logs in with (its ServiceAccount is <cluster>-restore-serviceaccount).
    Default, when the cluster self-initialised with selfInit.oidc.enabled: openbao-operator-restore."""
    token_secret_ref: LocalObjectReference | None = None
    """Secret (key `token`) with an OpenBao token allowed to update sys/storage/raft/snapshot(-force), for
    clusters without the JWT bootstrap; ignored when a JWT role applies."""
    image: Annotated[ImageRef, Field(min_length=1)] | None = None
    """Executor image (default: the operator's own image)."""
    force: bool = False
    """Restore with snapshot-force: needed when the snapshot was taken by a cluster with another seal key
    (disaster recovery into a new cluster); see docs/backup-restore.md for the unseal key it then needs."""
    override_operation_lock: bool = False
    """Break glass: take over a backup or upgrade lock held on the cluster. Requires force."""


class OpenBaoRestoreStatus(ApiModel):
    """Observed state of a restore, written by the operator."""

    phase: RestorePhase | None = None
    """Pending, Validating, Running, Completed or Failed."""
    start_time: str | None = None
    """When the restore started (RFC 3339)."""
    completion_time: str | None = None
    """When it completed or failed (RFC 3339)."""
    snapshot_key: str | None = None
    """The key that was restored."""
    snapshot_size: Annotated[int, Field(ge=0)] | None = None
    """Size of the restored snapshot in bytes."""
    message: str | None = None
    """What happened, for people."""
    conditions: list[Condition] | None = Field(
        default=None,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    """Conditions, one per type."""


class RestoreMeta(ApiModel):
    """The part of metadata the operator reads."""

    model_config = {"extra": "allow"}

    name: str
    """Name of the request."""
    namespace: str | None = None
    """Namespace (the target cluster's)."""


class OpenBaoRestore(ApiModel):
    """A request to restore an OpenBaoCluster from a snapshot in object storage."""

    api_version: Literal["openbao.org/v1alpha1"] = Field(alias="apiVersion")
    """openbao.org/v1alpha1."""
    kind: Literal["OpenBaoRestore"]
    """OpenBaoRestore."""
    metadata: RestoreMeta
    """Standard object metadata."""
    spec: OpenBaoRestoreSpec
    """The restore request."""
    status: OpenBaoRestoreStatus | None = None
    """The observed state, written by the operator."""
