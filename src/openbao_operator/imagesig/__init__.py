"""Registry client and cosign signature verification; never touches Kubernetes objects.

The controller's contract (docs/image-verification.md)::

    verifier = ImageVerifier()                      # one per process; await verifier.aclose() at shutdown
    verdict = await verifier.verify(image, spec.image_verification, pull_secrets=[secret_data, ...])
    decision = decide(verdict, spec.image_verification.failure_policy if ... else "Block")

Keyless (issuer + subject) also passes ``trusted_root=`` the ConfigMap's ``trusted_root.json``.
"""

from .auth import Credential, Keychain, keychain_from_secrets
from .errors import FailureReason, ImageSigError
from .keyless import TRUSTED_ROOT_KEY, Identity, TrustedRoot, parse_trusted_root
from .policy import CONDITION_TYPE, REASON_FAILED, ConditionOutcome, EventOutcome, ImageDecision, decide
from .reference import ImageReference, parse_reference
from .tlog import RekorKey, RekorKeys, rekor_keys_from_trusted_root
from .verdict import Failed, NotRequired, Verdict, Verified
from .verifier import ImageVerifier

__all__ = [
    "CONDITION_TYPE",
    "REASON_FAILED",
    "TRUSTED_ROOT_KEY",
    "ConditionOutcome",
    "Credential",
    "EventOutcome",
    "Failed",
    "FailureReason",
    "Identity",
    "ImageDecision",
    "ImageReference",
    "ImageSigError",
    "ImageVerifier",
    "Keychain",
    "NotRequired",
    "RekorKey",
    "RekorKeys",
    "TrustedRoot",
    "Verdict",
    "Verified",
    "decide",
    "keychain_from_secrets",
    "parse_reference",
    "parse_trusted_root",
    "rekor_keys_from_trusted_root",
]
