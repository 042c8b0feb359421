"""Registry client and cosign signature verification; never touches Kubernetes objects.

The controller's contract (docs/image-verification.md)::

    verifier = ImageVerifier()                      # one per process; await verifier.aclose() at shutdown
    verdict = await verifier.verify(image, spec.image_verification, pull_secrets=[secret_data, ...])
    decision = decide(verdict, spec.image_verification.failure_policy if ... else "Block")
"""

from .auth import Credential, Keychain, keychain_from_secrets
from .errors import FailureReason, ImageSigError
from .policy import CONDITION_TYPE, REASON_FAILED, ConditionOutcome, EventOutcome, ImageDecision, decide
from .reference import ImageReference, parse_reference
from .tlog import RekorKey, RekorKeys, rekor_keys_from_trusted_root
from .verdict import Failed, NotRequired, Verdict, Verified
from .verifier import ImageVerifier

__all__ = [
    "CONDITION_TYPE",
    "REASON_FAILED",
    "ConditionOutcome",
    "Credential",
    "EventOutcome",
    "Failed",
    "FailureReason",
    "ImageDecision",
    "ImageReference",
    "ImageSigError",
    "ImageVerifier",
    "Keychain",
    "NotRequired",
    "RekorKey",
    "RekorKeys",
    "Verdict",
    "Verified",
    "decide",
    "keychain_from_secrets",
    "parse_reference",
    "rekor_keys_from_trusted_root",
]
