"""Seal material (the static unseal key) and its lifecycle decisions; never talks to the API server.

The controller calls `plan_unseal_key(...)` each reconcile with the key Secrets it observed, creates
`plan.create.manifest` (POST, never apply) when present, patches `plan.metadata_patches` into the
Secrets' metadata, and hands `plan.current` / `plan.previous` to the renderer (seal stanza and volumes).
"""

from .key import KEY_BYTES, TokenBytes, UnsealKey, UnsealKeyError, generate_unseal_key
from .plan import (
    KeyCreation,
    KeyRef,
    ObservedKeySecret,
    UnsealKeyPlan,
    UnsealKeyReason,
    plan_unseal_key,
    validate_key_secret,
)
from .secret import (
    ANNOTATION_KEY_ID,
    ANNOTATION_PREDECESSOR,
    ANNOTATION_REWRAPPED,
    ANNOTATION_SUCCESSOR,
    DATA_KEY,
    initial_key_id,
    is_key_secret_name,
    key_secret_manifest,
    key_secret_name,
    owner_references,
    requested_rotation_id,
    rotated_key_id,
)

__all__ = [
    "ANNOTATION_KEY_ID",
    "ANNOTATION_PREDECESSOR",
    "ANNOTATION_REWRAPPED",
    "ANNOTATION_SUCCESSOR",
    "DATA_KEY",
    "KEY_BYTES",
    "KeyCreation",
    "KeyRef",
    "ObservedKeySecret",
    "TokenBytes",
    "UnsealKey",
    "UnsealKeyError",
    "UnsealKeyPlan",
    "UnsealKeyReason",
    "generate_unseal_key",
    "initial_key_id",
    "is_key_secret_name",
    "key_secret_manifest",
    "key_secret_name",
    "owner_references",
    "plan_unseal_key",
    "requested_rotation_id",
    "rotated_key_id",
    "validate_key_secret",
]
