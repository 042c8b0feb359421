"""The API's identifiers and vocabulary that need no model: group, kind, the condition types, key ids.

Why apart from the models: the process start path (the informers' kinds and label selectors, api/names.py,
the tenancy step) needs these names, and importing them from the model modules would build every pydantic
model first, about half a second of start → /readyz (issue 20). The model modules re-export them.
"""

from __future__ import annotations

from enum import StrEnum

GROUP = "openbao.org"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "OpenBaoCluster"
PLURAL = "openbaoclusters"

STATIC_KEY_ID = "operator-generated-v1"
"""The key id of the first operator-generated key (the reference operator's)."""

ROTATION_ID_REGEX = r"^[a-z0-9](?:[-a-z0-9]{0,18}[a-z0-9])?$"
"""A static unseal key rotation id. It becomes part of a Secret name (`<name>-unseal-key-<id>`) and of the
key id OpenBao stores (`operator-rotated-<id>`), so it is a short DNS label; seal.secret compiles this same
expression."""


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
    BACKUP_HEALTHY = "BackupHealthy"
    """With spec.backup: True after a successful backup, False while backups fail or cannot start (says why)."""
