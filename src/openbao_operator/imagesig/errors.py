"""Why an image failed verification, as a closed vocabulary, and the typed errors that carry it.

Why: the controller and the person reading an Event must branch on meaning ("the registry is down, try
again", "nobody signed this digest", "signed by someone else"), not on HTTP codes or httpx2 exception
types. Every registry request goes through one translation in :mod:`.registry`, so no caller ever sees
an ``httpx2`` exception; the verifier turns these errors into a ``Failed`` verdict and never raises them.
Messages never contain credentials, tokens or Authorization headers.
"""

from __future__ import annotations

from enum import StrEnum


class FailureReason(StrEnum):
    """The cause of a failed verification (the Kubernetes reason stays ``ImageVerificationFailed``)."""

    INVALID_REFERENCE = "InvalidReference"
    """The image string is not a valid reference."""
    INVALID_CONFIGURATION = "InvalidConfiguration"
    """spec.imageVerification cannot be used as written (unparsable public key, no key and no identity,
    keyless without a usable trusted root)."""
    REGISTRY_UNAVAILABLE = "RegistryUnavailable"
    """Connection refused, timeout, 429 or 5xx: transient, retried with backoff."""
    REGISTRY_AUTH_FAILED = "RegistryAuthFailed"
    """401/403 even after authenticating with the pull secrets (or none were given)."""
    IMAGE_NOT_FOUND = "ImageNotFound"
    """The tag or digest does not exist in the repository."""
    REGISTRY_PROTOCOL_ERROR = "RegistryProtocolError"
    """The registry answered something malformed: digest mismatch, oversized or invalid manifest."""
    NO_SIGNATURES = "NoSignatures"
    """Neither a cosign `.sig` tag nor a Sigstore bundle referrer exists for the digest."""
    SIGNATURE_MISMATCH = "SignatureMismatch"
    """Signatures exist but none verifies with the configured key (another key, or corrupted)."""
    CLAIMS_MISMATCH = "ClaimsMismatch"
    """A signature verifies, but its payload names another digest or is not a cosign image signature."""
    TLOG_ENTRY_MISSING = "TransparencyLogEntryMissing"
    """The signature verifies but has no transparency-log entry, and ignoreTlog is false."""
    TLOG_UNVERIFIABLE = "TransparencyLogUnverifiable"
    """A transparency-log entry exists but does not verify (no trusted Rekor key, a bad SET, another signature)."""
    CERTIFICATE_UNTRUSTED = "CertificateUntrusted"
    """Keyless: the signing certificate is missing, does not chain to the trusted root, or is not for code signing."""
    CERTIFICATE_EXPIRED = "CertificateExpired"
    """Keyless: the certificate (or its CA) was not valid at the signing time."""
    ISSUER_MISMATCH = "IssuerMismatch"
    """Keyless: the certificate's OIDC issuer is not spec.imageVerification.issuer."""
    IDENTITY_MISMATCH = "IdentityMismatch"
    """Keyless: no email or URI name of the certificate is spec.imageVerification.subject."""

    @property
    def transient(self) -> bool:
        """True when retrying soon may succeed without anyone changing anything."""
        return self is FailureReason.REGISTRY_UNAVAILABLE


class ImageSigError(Exception):
    """Base of every error of this package; ``reason`` says what it means."""

    reason: FailureReason = FailureReason.REGISTRY_PROTOCOL_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidReference(ImageSigError):  # noqa: N818 - named by meaning, as callers read them
    reason = FailureReason.INVALID_REFERENCE


class InvalidConfiguration(ImageSigError):  # noqa: N818
    reason = FailureReason.INVALID_CONFIGURATION


class RegistryError(ImageSigError):
    """A registry request failed; ``status`` is the HTTP status (0 when none was received)."""

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class RegistryUnavailable(RegistryError):  # noqa: N818
    reason = FailureReason.REGISTRY_UNAVAILABLE


class RegistryAuthFailed(RegistryError):  # noqa: N818
    reason = FailureReason.REGISTRY_AUTH_FAILED


class NotFound(RegistryError):  # noqa: N818
    reason = FailureReason.IMAGE_NOT_FOUND


class RegistryProtocolError(RegistryError):
    reason = FailureReason.REGISTRY_PROTOCOL_ERROR


class DigestMismatch(RegistryProtocolError):  # noqa: N818
    """Content whose hash is not the digest it was asked for or announced with."""
