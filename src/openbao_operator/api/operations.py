"""Day-2 operations of the reference operator (scheduled backups, restores, upgrade executors), typed.

Why typed although not implemented: manifests written for the reference operator set these blocks, and the
API server should check them the same way the reference's CRD does (same names, types, defaults and
bounds), so a typo is refused at admission instead of being carried along as free-form data. Nothing here
is acted on yet; every field that is set is named in the FieldsIgnored condition (see ignored.py).
Executors would run in Jobs with their own ServiceAccount, never in the operator.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import ApiModel
from .k8s import LocalObjectReference


class BackupRetention(ApiModel):
    """How many backups to keep."""

    max_age: str | None = None
    """Maximum age of a backup, such as 168h."""
    max_count: Annotated[int, Field(ge=0)] | None = None
    """Maximum number of backups (0 means unlimited)."""


class AzureBackupTarget(ApiModel):
    """Azure Blob Storage settings of a backup target."""

    container: str | None = None
    """Blob container (default: the bucket)."""
    storage_account: Annotated[str, Field(min_length=1)] | None = None
    """Storage account name."""


class GcsBackupTarget(ApiModel):
    """Google Cloud Storage settings of a backup target."""

    project: str | None = None
    """GCP project."""


class BackupTarget(ApiModel):
    """Object storage that receives the snapshots."""

    provider: Literal["s3", "gcs", "azure"] = "s3"
    """Storage backend."""
    endpoint: str | None = None
    """HTTP(S) endpoint of the object store."""
    bucket: Annotated[str, Field(min_length=1)]
    """Bucket or container name."""
    path_prefix: str | None = None
    """Prefix of this cluster's snapshots inside the bucket."""
    region: str = "us-east-1"
    """S3 region."""
    role_arn: str | None = None
    """IAM role to assume through web identity (S3)."""
    credentials_secret_ref: LocalObjectReference | None = None
    """Secret with the object store's credentials."""
    use_path_style: bool = False
    """Path-style S3 addressing (MinIO and similar)."""
    insecure_skip_verify: bool | None = None
    """Skip TLS verification of the object store."""
    part_size: Annotated[int, Field(ge=5242880)] = 10485760
    """Multipart upload part size in bytes."""
    concurrency: Annotated[int, Field(ge=1, le=10)] = 3
    """Concurrent multipart uploads."""
    azure: AzureBackupTarget | None = None
    """Azure settings (provider azure)."""
    gcs: GcsBackupTarget | None = None
    """GCS settings (provider gcs)."""


class BackupConfig(ApiModel):
    """Scheduled snapshots of the raft storage (the reference operator's spec.backup). The executor exists; the
    operator does not schedule it yet (docs/backup-restore.md)."""

    schedule: Annotated[str, Field(min_length=1)]
    """Cron schedule, such as "0 3 * * *"."""
    image: str | None = None
    """Image of the backup executor."""
    target: BackupTarget
    """Where snapshots go."""
    retention: BackupRetention | None = None
    """Retention policy."""
    jwt_auth_role: str | None = None
    """JWT auth role the executor logs in with (default with selfInit.oidc: openbao-operator-backup)."""
    token_secret_ref: LocalObjectReference | None = None
    """Secret with a token for the executor (fallback to jwtAuthRole)."""


class RestoreConfig(ApiModel):
    """Restore authentication bootstrap (the reference operator's spec.restore): names the restore executor's JWT
    role that selfInit.oidc creates."""

    jwt_auth_role: str | None = None
    """JWT auth role of the restore executor."""


class PrePromotionHook(ApiModel):
    """A Job run before a blue/green promotion."""

    image: Annotated[str, Field(min_length=1)]
    """Image of the validation Job."""
    command: list[str] | None = None
    """Command."""
    args: list[str] | None = None
    """Arguments."""
    timeout_seconds: int = 300
    """Job timeout in seconds."""


class BlueGreenVerification(ApiModel):
    """Checks before a blue/green promotion."""

    min_sync_duration: str | None = None
    """How long the new cluster stays healthy as non-voters before promotion."""
    pre_promotion_hook: PrePromotionHook | None = None
    """A Job that must succeed before promotion."""


class BlueGreenAutoRollback(ApiModel):
    """Automatic rollback of a blue/green upgrade."""

    enabled: bool = True
    """Roll back automatically."""
    on_job_failure: bool = True
    """Roll back after too many Job failures."""
    on_validation_failure: bool = True
    """Roll back when the pre-promotion hook fails."""


class BlueGreenConfig(ApiModel):
    """Blue/green upgrade settings. Not implemented here."""

    auto_promote: bool = True
    """Switch over and remove the old cluster automatically."""
    verification: BlueGreenVerification | None = None
    """Checks before promotion."""
    auto_rollback: BlueGreenAutoRollback | None = None
    """Automatic rollback."""
    max_job_failures: Annotated[int, Field(ge=1)] = 5
    """Consecutive Job failures before giving up."""
    pre_upgrade_snapshot: bool | None = None
    """Snapshot before the upgrade."""


class UpgradeConfig(ApiModel):
    """How OpenBao version upgrades roll out (docs/upgrades.md)."""

    strategy: Literal["RollingUpdate", "BlueGreen"] = "RollingUpdate"
    """RollingUpdate: the operator replaces pods one at a time, standbys first and the active node last, and
    checks each replaced pod's health before the next. BlueGreen is accepted for compatibility and not
    implemented (reported in status; RollingUpdate is used)."""
    blue_green: BlueGreenConfig | None = None
    """Blue/green settings (not implemented)."""
    image: str | None = None
    """Image of the upgrade executor (not used: upgrades run as ordered rollouts)."""
    jwt_auth_role: str | None = None
    """JWT auth role of the upgrade executor (not used: the operator's own identity is used)."""
    token_secret_ref: LocalObjectReference | None = None
    """Secret with a token for upgrades (not used)."""
    pre_upgrade_snapshot: bool | None = None
    """Take a Raft snapshot before the first pod is replaced, with spec.backup's target and executor; the
    upgrade waits for it and stops if it fails."""
    auto_rollback: bool | None = None
    """When an upgraded pod fails its health gate, roll the upgraded pods back to the previous version while
    no pod of the new version has been the active node (the Raft data is then still the old version's). Not
    in the reference operator, whose rollback exists only for blue/green. Default false: stop and wait."""
