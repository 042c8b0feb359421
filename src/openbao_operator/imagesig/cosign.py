"""cosign signatures, checked with a public key or (keyless) a certificate: pure functions over fetched bytes.

Two formats:
- **v2 / classic**: the tag `sha256-<hex>.sig` holds a manifest whose layers are simple-signing JSON
  payloads (`application/vnd.dev.cosign.simplesigning.v1+json`); each layer's annotation
  `dev.cosignproject.cosign/signature` is the base64 signature over the payload bytes. The payload's
  `critical.type` must be `cosign container image signature` and `critical.image.docker-manifest-digest`
  the digest being verified (so a signature copied onto another image's `.sig` tag verifies nothing).
- **v3 / Sigstore bundle v0.3**: a referrer (OCI 1.1 API or the `sha256-<hex>` tag index) with artifact type
  `application/vnd.dev.sigstore.bundle.v0.3+json`; its layer is the bundle JSON holding a DSSE envelope
  whose signature covers the PAE `DSSEv1 <len> <type> <len> <payload>` of an in-toto Statement with
  predicate type `https://sigstore.dev/cosign/sign/v1` and a subject whose sha256 is the digest.
  Attestations (other predicate types) are not signatures and are ignored.

Who signed: with a public key (:class:`.keys.VerificationKey`) the signature must verify with it. Keyless
(:class:`KeylessPolicy`) the signature carries a certificate (v2: the `dev.sigstore.cosign/certificate`
annotation; bundle: `verificationMaterial.certificate` or the first of `x509CertificateChain`), the
signature must verify with the certificate's key, and the certificate must pass :mod:`.keyless` at the
signing time: the Rekor entry's integratedTime when the log is checked, else the verifier's clock.

The transparency log: with ``require_tlog`` (spec ignoreTlog false) a signature without a Rekor entry
fails with TransparencyLogEntryMissing; an entry is accepted only if its signed entry timestamp verifies
with a trusted Rekor key (:mod:`.tlog`) and its body names this very signature and payload (and, keyless,
this certificate).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from .errors import FailureReason
from .keyless import Identity, TrustedRoot, certificate_der, certificate_key, check_certificate, load_certificate
from .keys import VerificationKey
from .tlog import RekorKeys, TlogEntry, b64_or_none, check_tlog_entry, entry_from_bundle, entry_from_cosign_annotation

SIMPLESIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
REKOR_BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
COSIGN_SIGNATURE_TYPE = "cosign container image signature"
SIG_TAG_SUFFIX = ".sig"

BUNDLE_ARTIFACT_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_MEDIA_TYPES = frozenset(
    {
        BUNDLE_ARTIFACT_TYPE,
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
    }
)
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
IN_TOTO_STATEMENT_TYPES = frozenset({"https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"})
COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"


@dataclass(frozen=True)
class KeylessPolicy:
    """Keyless verification: certificates must chain to ``root`` and name ``identity``."""

    root: TrustedRoot
    identity: Identity
    now: dt.datetime
    """The signing time used when the transparency log is not checked (ignoreTlog: true)."""


SignerPolicy = VerificationKey | KeylessPolicy


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome for one signature: ``reason`` is None when it verifies."""

    reason: FailureReason | None
    message: str
    tlog_checked: bool = False
    valid_until: dt.datetime | None = None
    """Keyless without the log: the certificate's notAfter; the verdict must not outlive it."""

    @property
    def ok(self) -> bool:
        return self.reason is None


def _fail(reason: FailureReason, message: str) -> SignatureCheck:
    return SignatureCheck(reason=reason, message=message)


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(body) SP body` (lengths in bytes)."""
    type_bytes = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(type_bytes), type_bytes, len(payload), payload)


def check_simple_signing(
    *,
    payload: bytes,
    signature_b64: str | None,
    signer: SignerPolicy,
    digest: str,
    certificate: str | None = None,
    rekor_bundle: str | None = None,
    require_tlog: bool,
    rekor_keys: RekorKeys | None = None,
) -> SignatureCheck:
    """Verify one classic cosign signature layer (its payload already checked against the layer digest).

    ``certificate`` is the layer's `dev.sigstore.cosign/certificate` annotation (PEM; keyless only).
    """
    signature = b64_or_none(signature_b64)
    if signature is None:
        return _fail(FailureReason.SIGNATURE_MISMATCH, "a .sig layer has no valid base64 signature annotation")
    resolved = _signing_key(signer, load_certificate(certificate), what="a .sig layer")
    if isinstance(resolved, SignatureCheck):
        return resolved
    key, cert = resolved
    if not key.verify(signature, payload):
        return _fail(FailureReason.SIGNATURE_MISMATCH, f"a .sig signature does not verify with {_whose(signer)}")
    try:
        doc = json.loads(payload)
        critical = doc["critical"]
        signed_type = critical["type"]
        signed_digest = critical["image"]["docker-manifest-digest"]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        return _fail(FailureReason.CLAIMS_MISMATCH, "a signed .sig payload is not a simple-signing document")
    if signed_type != COSIGN_SIGNATURE_TYPE:
        return _fail(FailureReason.CLAIMS_MISMATCH, f"a signed payload has critical.type {str(signed_type)[:80]!r}")
    if signed_digest != digest:
        return _fail(FailureReason.CLAIMS_MISMATCH, f"a valid signature names {str(signed_digest)[:80]}, not {digest}")
    if not require_tlog:
        unlogged = SignatureCheck(None, "verified (.sig, transparency log not required)")
        return _identity(signer, cert=cert, entry=None, check=unlogged)
    if not rekor_bundle:
        return _fail(
            FailureReason.TLOG_ENTRY_MISSING,
            "the signature verifies but has no transparency-log entry (signed with --tlog-upload=false?); "
            + _no_tlog_hint(signer),
        )
    return _logged(
        entry_from_cosign_annotation(rekor_bundle),
        rekor_keys,
        signer=signer,
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        signature=signature,
        dsse=False,
        cert=cert,
    )


def check_bundle(
    *,
    bundle: bytes,
    signer: SignerPolicy,
    digest: str,
    require_tlog: bool,
    rekor_keys: RekorKeys | None = None,
) -> SignatureCheck:
    """Verify one Sigstore bundle (JSON bytes, already checked against its layer digest)."""
    try:
        doc = json.loads(bundle)
    except (ValueError, UnicodeDecodeError):
        return _fail(FailureReason.SIGNATURE_MISMATCH, "a Sigstore bundle is not JSON")
    if not isinstance(doc, dict):
        return _fail(FailureReason.SIGNATURE_MISMATCH, "a Sigstore bundle is not a JSON object")
    envelope = doc.get("dsseEnvelope")
    if not isinstance(envelope, dict):
        return _fail(FailureReason.SIGNATURE_MISMATCH, "a Sigstore bundle has no DSSE envelope")
    payload = b64_or_none(envelope.get("payload"))
    payload_type = envelope.get("payloadType")
    signatures = envelope.get("signatures")
    if payload is None or not isinstance(payload_type, str) or not isinstance(signatures, list):
        return _fail(FailureReason.SIGNATURE_MISMATCH, "a Sigstore bundle's DSSE envelope is malformed")
    if len(signatures) != 1 or not isinstance(signatures[0], dict):
        return _fail(FailureReason.SIGNATURE_MISMATCH, "a Sigstore bundle must carry exactly one DSSE signature")
    resolved = _signing_key(signer, load_certificate(_bundle_certificate(doc)), what="a Sigstore bundle")
    if isinstance(resolved, SignatureCheck):
        return resolved
    key, cert = resolved
    signature = b64_or_none(signatures[0].get("sig"))
    if signature is None or not key.verify(signature, pae(payload_type, payload)):
        return _fail(FailureReason.SIGNATURE_MISMATCH, f"a bundle signature does not verify with {_whose(signer)}")
    claims = _check_statement(payload_type, payload, digest)
    if claims is not None:
        return claims
    if not require_tlog:
        unlogged = SignatureCheck(None, "verified (bundle, transparency log not required)")
        return _identity(signer, cert=cert, entry=None, check=unlogged)
    entries = _tlog_entries(doc)
    if not entries:
        return _fail(
            FailureReason.TLOG_ENTRY_MISSING,
            "the bundle verifies but has no transparency-log entry (signed without a Rekor upload?); "
            + _no_tlog_hint(signer),
        )
    last = _fail(FailureReason.TLOG_UNVERIFIABLE, "no transparency-log entry could be checked")
    payload_sha256 = hashlib.sha256(payload).hexdigest()
    for raw in entries:
        last = _logged(
            entry_from_bundle(raw),
            rekor_keys,
            signer=signer,
            payload_sha256=payload_sha256,
            signature=signature,
            dsse=True,
            cert=cert,
        )
        if last.ok:
            break
    return last


def _bundle_certificate(doc: dict[str, Any]) -> bytes | None:
    """The leaf of a bundle: `certificate` (v0.3) or the first of `x509CertificateChain` (v0.1/v0.2)."""
    material = doc.get("verificationMaterial")
    if not isinstance(material, dict):
        return None
    single = material.get("certificate")
    if isinstance(single, dict):
        return b64_or_none(single.get("rawBytes"))
    chain = material.get("x509CertificateChain")
    certs = chain.get("certificates") if isinstance(chain, dict) else None
    if isinstance(certs, list) and certs and isinstance(certs[0], dict):
        return b64_or_none(certs[0].get("rawBytes"))
    return None


def _signing_key(
    signer: SignerPolicy, cert: x509.Certificate | None, *, what: str
) -> tuple[VerificationKey, x509.Certificate | None] | SignatureCheck:
    """The key that must have made the signature: the configured one, or (keyless) the certificate's."""
    if isinstance(signer, VerificationKey):
        return signer, None
    if cert is None:
        return _fail(FailureReason.CERTIFICATE_UNTRUSTED, f"{what} carries no signing certificate (not keyless)")
    key = certificate_key(cert)
    if key is None:
        return _fail(FailureReason.CERTIFICATE_UNTRUSTED, f"{what} has a certificate with an unsupported key type")
    return key, cert


def _whose(signer: SignerPolicy) -> str:
    return "the configured key" if isinstance(signer, VerificationKey) else "its certificate's key"


def _no_tlog_hint(signer: SignerPolicy) -> str:
    if isinstance(signer, VerificationKey):
        return "set ignoreTlog: true to trust the key alone"
    return (
        "keyless signatures need the Rekor entry's time to check the short-lived certificate; ignoreTlog: true "
        "checks the certificate at the current time instead"
    )


def _identity(
    signer: SignerPolicy, *, cert: x509.Certificate | None, entry: TlogEntry | None, check: SignatureCheck
) -> SignatureCheck:
    """Keyless, after the signature (and its log entry) passed: the certificate at the signing time."""
    if not check.ok or not isinstance(signer, KeylessPolicy) or cert is None:
        return check
    if entry is not None and check.tlog_checked:
        try:
            signed_at = dt.datetime.fromtimestamp(entry.integrated_time, dt.UTC)
        except (OverflowError, ValueError, OSError):
            return _fail(FailureReason.TLOG_UNVERIFIABLE, "the transparency-log entry's integratedTime is out of range")
        source = "the Rekor entry's integratedTime"
    else:
        signed_at, source = signer.now, "the current time: ignoreTlog is true"
    problem = check_certificate(
        cert, root=signer.root, identity=signer.identity, signed_at=signed_at, time_source=source
    )
    if problem is not None:
        return _fail(problem.reason, problem.message)
    if check.tlog_checked:
        return check
    return SignatureCheck(None, check.message, valid_until=cert.not_valid_after_utc)


def _check_statement(payload_type: str, payload: bytes, digest: str) -> SignatureCheck | None:
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        return _fail(FailureReason.CLAIMS_MISMATCH, f"a signed bundle has payload type {payload_type[:80]!r}")
    try:
        statement = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return _fail(FailureReason.CLAIMS_MISMATCH, "a signed bundle's payload is not JSON")
    if not isinstance(statement, dict) or statement.get("_type") not in IN_TOTO_STATEMENT_TYPES:
        return _fail(FailureReason.CLAIMS_MISMATCH, "a signed bundle's payload is not an in-toto Statement")
    predicate = statement.get("predicateType")
    if predicate != COSIGN_SIGN_PREDICATE:
        return _fail(
            FailureReason.CLAIMS_MISMATCH,
            f"a signed bundle has predicate type {str(predicate)[:80]!r}, not a cosign signature",
        )
    algorithm, _, hex_digest = digest.partition(":")
    subjects = statement.get("subject")
    if not isinstance(subjects, list):
        return _fail(FailureReason.CLAIMS_MISMATCH, "a signed Statement has no subject list")
    for subject in subjects:
        digests = subject.get("digest") if isinstance(subject, dict) else None
        if isinstance(digests, dict) and digests.get(algorithm) == hex_digest:
            return None
    return _fail(FailureReason.CLAIMS_MISMATCH, f"a valid bundle signature names no subject {digest}")


def _tlog_entries(doc: dict[str, Any]) -> Sequence[Any]:
    material = doc.get("verificationMaterial")
    if not isinstance(material, dict):
        return []
    entries = material.get("tlogEntries")
    return entries if isinstance(entries, list) else []


def _logged(
    entry: TlogEntry | None,
    rekor_keys: RekorKeys | None,
    *,
    signer: SignerPolicy,
    payload_sha256: str,
    signature: bytes,
    dsse: bool,
    cert: x509.Certificate | None,
) -> SignatureCheck:
    """A verified signature with its transparency-log entry: the entry, then (keyless) the certificate at the
    entry's integratedTime."""
    return _identity(
        signer,
        cert=cert,
        entry=entry,
        check=_tlog(entry, rekor_keys, payload_sha256=payload_sha256, signature=signature, dsse=dsse, cert=cert),
    )


def _tlog(
    entry: TlogEntry | None,
    rekor_keys: RekorKeys | None,
    *,
    payload_sha256: str,
    signature: bytes,
    dsse: bool,
    cert: x509.Certificate | None,
) -> SignatureCheck:
    if entry is None:
        return _fail(FailureReason.TLOG_UNVERIFIABLE, "the transparency-log entry is malformed")
    problem = check_tlog_entry(
        entry,
        rekor_keys,
        payload_sha256=payload_sha256,
        signature=signature,
        dsse=dsse,
        certificate_der=certificate_der(cert) if cert is not None else None,
    )
    if problem is not None:
        return _fail(FailureReason.TLOG_UNVERIFIABLE, problem)
    return SignatureCheck(reason=None, message="verified with a transparency-log entry", tlog_checked=True)
