"""Workload settings: storage, lifecycle (maintenance, upgrades, deletion) and pod scheduling."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import ApiModel, Rule
from .k8s import LocalObjectReference
from .types import EMPTY_IS_UNSET, ImageRef, ObjectName, Quantity


class StorageConfig(ApiModel):
    """The raft data volume of each pod (volumeClaimTemplate `data`)."""

    size: Quantity
    """Requested size, such as 10Gi. Can grow (where the StorageClass allows expansion), never shrink."""
    storage_class_name: str | None = None
    """StorageClass of the volumes (cluster default when unset). Cannot change after creation. An empty
    string also means the cluster default, as in the reference operator (not Kubernetes' "no dynamic
    provisioning"); it is reported as ignored."""


class MaintenanceConfig(ApiModel):
    """Maintenance mode and explicit restarts."""

    enabled: bool = False
    """Mark the StatefulSet and pods with openbao.org/maintenance=true; allows restarts after volume resize."""
    restart_at: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    """Change this value (for example to a timestamp) to restart every pod in an ordered rollout."""


class InitContainerConfig(ApiModel):
    """Accepted for compatibility with the reference operator and ignored: pods here need no init container
    (config.hcl is rendered by the operator and pod identity comes from the environment)."""

    enabled: bool = True
    """Ignored."""
    image: Annotated[ImageRef | None, EMPTY_IS_UNSET] = None
    """Ignored."""


class ServiceAccountConfig(ApiModel):
    """The pods' ServiceAccount (and its Role for service registration and raft auto-join)."""

    name: Annotated[ObjectName | None, EMPTY_IS_UNSET] = None
    """ServiceAccount name (default <name>-serviceaccount)."""
    annotations: dict[str, str] | None = None
    """Annotations, for example for cloud workload identity."""


class WorkloadHardeningConfig(ApiModel):
    """Optional hardening of the pods."""

    app_armor_enabled: bool = False
    """Set the RuntimeDefault AppArmor profile on the pods."""


class ImageVerificationConfig(ApiModel):
    """Cosign signature verification of an image before it reaches the StatefulSet."""

    rules = (
        Rule(
            # Empty strings count as not set (the reference operator's meaning). With failurePolicy Warn the
            # reference verifies nothing and goes on, so only Block (which would hold the pods forever) needs it.
            cel="!self.enabled || self.failurePolicy == 'Warn' || (has(self.publicKey) && self.publicKey != '') || "
            "(has(self.issuer) && self.issuer != '' && has(self.subject) && self.subject != '')",
            check=lambda m: (
                not m.enabled
                or m.failure_policy == "Warn"
                or m.public_key is not None
                or (m.issuer is not None and m.subject is not None)
            ),
            message="set publicKey, or issuer and subject for keyless verification (with failurePolicy Block, "
            "nothing would ever be verified and the pods would be held)",
            field="publicKey",
        ),
    )

    enabled: bool
    """Verify the image."""
    public_key: Annotated[Annotated[str, Field(max_length=16384)] | None, EMPTY_IS_UNSET] = None
    """PEM public key for key-based verification."""
    issuer: Annotated[str | None, EMPTY_IS_UNSET] = None
    """OIDC issuer for keyless verification: must equal the signing certificate's Fulcio issuer extension."""
    subject: Annotated[str | None, EMPTY_IS_UNSET] = None
    """Certificate subject for keyless verification: must equal an email or URI SAN (exact, no regex)."""
    trusted_root_config_map_ref: LocalObjectReference | None = None
    """ConfigMap in the cluster's namespace whose key `trusted_root.json` is a Sigstore trusted root: the
    certificate authorities (Fulcio) and transparency logs (Rekor) to trust. Keyless verification uses it
    instead of the embedded public-good Sigstore root (for private Sigstore instances, or a newer root); with
    publicKey, its Rekor keys check the transparency log."""
    failure_policy: Literal["Warn", "Block"] = "Block"
    """Block: nothing that would run an unverified image is applied. Warn: proceed with a Warning Event."""
    ignore_tlog: bool = False
    """Skip the transparency-log check. Keyless: the certificate is then checked at the current time, not at
    the Rekor entry's time (short-lived Fulcio certificates fail; meant for long-lived private CAs)."""
    image_pull_secrets: list[LocalObjectReference] | None = None
    """Registry credentials (dockerconfigjson Secrets) used for verification."""
