"""cosign signatures, checked with a public key: pure functions over bytes already fetched and hash-checked.

Two formats (python-stack.md §5):
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

The transparency log: with ``require_tlog`` (spec ignoreTlog false) a signature without a Rekor entry
fails with TransparencyLogEntryMissing; an entry is accepted only if its signed entry timestamp verifies
with a trusted Rekor key (:mod:`.tlog`) and its body names this very signature and payload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import FailureReason
from .keys import VerificationKey
from .tlog import RekorKeys, TlogEntry, check_tlog_entry, entry_from_bundle, entry_from_cosign_annotation

SIMPLESIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
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
class SignatureCheck:
    """The outcome for one signature: ``reason`` is None when it verifies."""

    reason: FailureReason | None
    message: str
    tlog_checked: bool = False

    @property
    def ok(self) -> bool:
        return self.reason is None


def _fail(reason: FailureReason, message: str) -> SignatureCheck:
    return SignatureCheck(reason=reason, message=message)


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(body) SP body` (lengths in bytes)."""
    type_bytes = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(type_bytes), type_bytes, len(payload), payload)


def _b64(text: object) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def check_simple_signing(
    *,
    payload: bytes,
    signature_b64: str | None,
    key: VerificationKey,
    digest: str,
    rekor_bundle: str | None = None,
    require_tlog: bool,
    rekor_keys: RekorKeys | None = None,
) -> SignatureCheck:
    """Verify one classic cosign signature layer (its payload already checked against the layer digest)."""
    signature = _b64(signature_b64)
    if signature is None:
        return _fail(FailureReason.SIGNATURE_MISMATCH, "a .sig layer has no valid base64 signature annotation")
    if not key.verify(signature, payload):
        return _fail(FailureReason.SIGNATURE_MISMATCH, "a .sig signature does not verify with the configured key")
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
        return SignatureCheck(reason=None, message="verified (.sig, transparency log not required)")
    if not rekor_bundle:
        return _fail(
            FailureReason.TLOG_ENTRY_MISSING,
            "the signature verifies but has no transparency-log entry (signed with --tlog-upload=false?); "
            "set ignoreTlog: true to trust the key alone",
        )
    entry = entry_from_cosign_annotation(rekor_bundle)
    return _tlog(entry, rekor_keys, payload_sha256=hashlib.sha256(payload).hexdigest(), signature=signature, dsse=False)


def check_bundle(
    *,
    bundle: bytes,
    key: VerificationKey,
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
    payload = _b64(envelope.get("payload"))
    payload_type = envelope.get("payloadType")
    signatures = envelope.get("signatures")
    if payload is None or not isinstance(payload_type, str) or not isinstance(signatures, list):
        return _fail(FailureReason.SIGNATURE_MISMATCH, "a Sigstore bundle's DSSE envelope is malformed")
    if len(signatures) != 1 or not isinstance(signatures[0], dict):
        return _fail(FailureReason.SIGNATURE_MISMATCH, "a Sigstore bundle must carry exactly one DSSE signature")
    signature = _b64(signatures[0].get("sig"))
    if signature is None or not key.verify(signature, pae(payload_type, payload)):
        return _fail(FailureReason.SIGNATURE_MISMATCH, "a bundle signature does not verify with the configured key")
    claims = _check_statement(payload_type, payload, digest)
    if claims is not None:
        return claims
    if not require_tlog:
        return SignatureCheck(reason=None, message="verified (bundle, transparency log not required)")
    entries = _tlog_entries(doc)
    if not entries:
        return _fail(
            FailureReason.TLOG_ENTRY_MISSING,
            "the bundle verifies but has no transparency-log entry (signed without a Rekor upload?); "
            "set ignoreTlog: true to trust the key alone",
        )
    last = _fail(FailureReason.TLOG_UNVERIFIABLE, "no transparency-log entry could be checked")
    for raw in entries:
        entry = entry_from_bundle(raw)
        last = _tlog(
            entry,
            rekor_keys,
            payload_sha256=hashlib.sha256(payload).hexdigest(),
            signature=signature,
            dsse=True,
        )
        if last.ok:
            break
    return last


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


def _tlog(
    entry: TlogEntry | None,
    rekor_keys: RekorKeys | None,
    *,
    payload_sha256: str,
    signature: bytes,
    dsse: bool,
) -> SignatureCheck:
    if entry is None:
        return _fail(FailureReason.TLOG_UNVERIFIABLE, "the transparency-log entry is malformed")
    problem = check_tlog_entry(
        entry,
        rekor_keys,
        payload_sha256=payload_sha256,
        signature=signature,
        dsse=dsse,
    )
    if problem is not None:
        return _fail(FailureReason.TLOG_UNVERIFIABLE, problem)
    return SignatureCheck(reason=None, message="verified with a transparency-log entry", tlog_checked=True)
