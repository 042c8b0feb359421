"""Seal material (the static unseal key) and its lifecycle decisions; never talks to the API server.

The controller calls `plan_unseal_key(...)` each reconcile with the key Secrets it observed, creates
`plan.create.manifest` (POST, never apply) when present, patches `plan.metadata_patches` into the
Secrets' metadata, and hands `plan.current` / `plan.previous` to the renderer (seal stanza and volumes).
"""

# The names live in api/names.py (render and the controller need them too); the controller reads them
# through this package under the names below.
from openbao_operator.api.names import ANNOTATION_UNSEAL_KEY_ID as ANNOTATION_KEY_ID
from openbao_operator.api.names import ANNOTATION_UNSEAL_KEY_PREDECESSOR as ANNOTATION_PREDECESSOR
from openbao_operator.api.names import ANNOTATION_UNSEAL_KEY_REWRAPPED as ANNOTATION_REWRAPPED
from openbao_operator.api.names import ANNOTATION_UNSEAL_KEY_SUCCESSOR as ANNOTATION_SUCCESSOR
from openbao_operator.api.names import UNSEAL_KEY_KEY as DATA_KEY
from openbao_operator.api.names import initial_unseal_key_id as initial_key_id
from openbao_operator.api.names import is_unseal_key_secret_name as is_key_secret_name
from openbao_operator.api.names import rotated_unseal_key_id as rotated_key_id
from openbao_operator.api.names import unseal_key_secret_name as key_secret_name

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
from .secret import key_secret_manifest, owner_references, requested_rotation_id

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
