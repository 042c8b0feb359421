"""Keyless (Fulcio certificate) signatures, checked offline against a Sigstore ``trusted_root.json``.

Why our own code and not ``sigstore``: sigstore-python verifies bundles only, reaches for TUF unless told
otherwise, and knows no cosign v2 `.sig` layers; an offline cluster has neither Fulcio, Rekor nor TUF.
What keyless needs offline is small: the trusted root the user supplies (its certificate authorities and
Rekor keys), an X.509 chain check, and the two Fulcio identity fields. Every check returns a reason; none
raises.

A signing certificate is accepted for ``issuer`` + ``subject`` when, at the signing time:

1. it chains to a ``certificateAuthorities[]`` entry of the trusted root: the leaf is issued (name and
   signature) by the first certificate of that CA's ``certChain``, each chain certificate by the next,
   every chain certificate is a CA, and the CA's ``validFor`` window holds the signing time. Chains sent
   along with the signature (cosign's ``/chain`` annotation) are not trusted and not needed; the trusted
   root holds the intermediates, as in sigstore-go;
2. the leaf and every chain certificate are valid at the signing time (Fulcio leaves live ten minutes:
   the time must be the Rekor entry's integratedTime, or they are all expired);
3. the leaf carries the code-signing extended key usage, as Fulcio issues it;
4. the Fulcio issuer extension (1.3.6.1.4.1.57264.1.8, a DER UTF8String; else the legacy
   1.3.6.1.4.1.57264.1.1, raw bytes) equals ``issuer`` exactly;
5. an email or URI subject alternative name equals ``subject`` exactly (cosign's ``Identity{Issuer,
   Subject}``, which the reference operator uses, compares exactly; there are no regular expressions).

Not checked: certificate transparency (SCTs; an offline cluster has no CT log to trust, and the trusted
root's ``ctlogs`` are ignored), revocation, and Rekor inclusion proofs (see :mod:`.tlog`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from .errors import FailureReason, InvalidConfiguration
from .keys import VerificationKey, load_public_key
from .tlog import RekorKeys, rekor_keys_from_trusted_root

TRUSTED_ROOT_KEY = "trusted_root.json"
"""The ConfigMap key that holds the trusted root (the reference operator's name)."""
FULCIO_ISSUER_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
FULCIO_LEGACY_ISSUER_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
MAX_CHAIN = 8
"""Certificates per CA chain (a real Fulcio chain has two)."""


@dataclass(frozen=True)
class CertificateAuthority:
    """One ``certificateAuthorities[]`` entry: its chain (issuer of leaves first, root last) and window."""

    chain: tuple[x509.Certificate, ...]
    valid_from: dt.datetime | None
    valid_to: dt.datetime | None

    def valid_at(self, when: dt.datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= when) and (self.valid_to is None or when <= self.valid_to)


@dataclass(frozen=True)
class TrustedRoot:
    """The parts of a Sigstore trusted root that offline verification uses."""

    authorities: tuple[CertificateAuthority, ...]
    rekor_keys: RekorKeys
    fingerprint: str
    """`sha256:<hex>` of the document's bytes: keys the verdict cache, so a new root never reuses a verdict."""


@dataclass(frozen=True)
class Identity:
    """Who must have signed: the OIDC issuer and the certificate subject (email or URI), both exact."""

    issuer: str
    subject: str


@dataclass(frozen=True)
class CertProblem:
    reason: FailureReason
    message: str


def parse_trusted_root(data: bytes | str, *, source: str) -> TrustedRoot:
    """Parse a ``trusted_root.json``; raises :class:`InvalidConfiguration` naming ``source``, not the content."""
    raw = data.encode() if isinstance(data, str) else data
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidConfiguration(f"{source} is not JSON") from None
    if not isinstance(doc, dict):
        raise InvalidConfiguration(f"{source} is not a JSON object")
    authorities = tuple(_authority(item, source=source) for item in _list(doc, "certificateAuthorities", source))
    try:
        # NB: an empty tlogs list is allowed (ignoreTlog: true needs none); rekor_keys_from_trusted_root
        # insists on the key, so give it a document with a list.
        rekor_keys = rekor_keys_from_trusted_root(json.dumps({"tlogs": doc.get("tlogs") or []}))
    except (ValueError, TypeError, KeyError, UnsupportedAlgorithm, InvalidConfiguration):
        raise InvalidConfiguration(f"{source}: a tlogs[] entry has no usable publicKey") from None
    return TrustedRoot(
        authorities=authorities,
        rekor_keys=rekor_keys,
        fingerprint="sha256:" + hashlib.sha256(raw).hexdigest(),
    )


def _list(doc: dict[str, Any], field: str, source: str) -> list[Any]:
    value = doc.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidConfiguration(f"{source}: {field} is not a list")
    return value


def _authority(item: Any, *, source: str) -> CertificateAuthority:
    what = f"{source}: a certificateAuthorities[] entry"
    try:
        certs = item["certChain"]["certificates"]
        if not isinstance(certs, list) or not 1 <= len(certs) <= MAX_CHAIN:
            raise InvalidConfiguration(f"{what} needs 1 to {MAX_CHAIN} certChain certificates")
        chain = tuple(x509.load_der_x509_certificate(base64.b64decode(c["rawBytes"], validate=True)) for c in certs)
        for cert in chain:
            _ = cert.extensions  # malformed extensions fail here, as configuration, not during a check
        window = item.get("validFor") or {}
        return CertificateAuthority(
            chain=chain, valid_from=_time(window.get("start")), valid_to=_time(window.get("end"))
        )
    except InvalidConfiguration:
        raise
    except (KeyError, TypeError, ValueError, binascii.Error, AttributeError):
        raise InvalidConfiguration(f"{what} is malformed (certChain.certificates[].rawBytes, validFor)") from None


def _time(value: object) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not a timestamp")
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


def load_certificate(data: bytes | str | None) -> x509.Certificate | None:
    """A certificate from PEM (the cosign annotation) or DER (a bundle's rawBytes); None when unusable."""
    if not data:
        return None
    raw = data.encode() if isinstance(data, str) else data
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            cert = x509.load_pem_x509_certificate(raw)
        else:
            cert = x509.load_der_x509_certificate(raw)
        # NB: extensions are parsed lazily and raise on malformed ones (duplicates, bad DER); parse them
        # here, where a bad certificate is just "no certificate", not later in a check that must not raise.
        _ = cert.extensions
    except ValueError:
        return None
    return cert


def certificate_key(cert: x509.Certificate) -> VerificationKey | None:
    """The certificate's public key as a verification key (None for key types cosign never issues)."""
    try:
        pem = cert.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return load_public_key(pem.decode())
    except (InvalidConfiguration, UnsupportedAlgorithm, ValueError):
        return None


def certificate_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def check_certificate(
    cert: x509.Certificate,
    *,
    root: TrustedRoot,
    identity: Identity,
    signed_at: dt.datetime,
    time_source: str,
) -> CertProblem | None:
    """None when ``cert`` may sign for ``identity`` at ``signed_at``; else the first problem (steps 1-5)."""
    when = signed_at.astimezone(dt.UTC)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    # (1) the chain, at any time: a certificate from another CA is "untrusted", never "expired".
    chained = [ca for ca in root.authorities if _chains(cert, ca)]
    if not chained:
        return CertProblem(
            FailureReason.CERTIFICATE_UNTRUSTED,
            "the signing certificate does not chain to a certificate authority of the trusted root",
        )
    # (2) validity at the signing time, of the leaf, its chain, and the CA's window in the trusted root.
    if not _valid(cert, when):
        return CertProblem(
            FailureReason.CERTIFICATE_EXPIRED,
            f"the signing certificate (valid {_window(cert)}) was not valid at the signing time {stamp} "
            f"({time_source})",
        )
    if not any(ca.valid_at(when) and all(_valid(c, when) for c in ca.chain) for ca in chained):
        return CertProblem(
            FailureReason.CERTIFICATE_EXPIRED,
            f"the certificate authority was not valid at the signing time {stamp} ({time_source})",
        )
    # (3) a code-signing certificate, as Fulcio issues them.
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = None
    if usages is None or ExtendedKeyUsageOID.CODE_SIGNING not in usages:
        return CertProblem(FailureReason.CERTIFICATE_UNTRUSTED, "the signing certificate is not for code signing")
    # (4) the OIDC issuer.
    issuer = fulcio_issuer(cert)
    if issuer != identity.issuer:
        shown = "none" if issuer is None else repr(issuer[:200])
        return CertProblem(
            FailureReason.ISSUER_MISMATCH,
            f"the signing certificate's OIDC issuer is {shown}, not {identity.issuer!r}",
        )
    # (5) the subject.
    names = subject_names(cert)
    if identity.subject not in names:
        shown = ", ".join(repr(n[:200]) for n in names[:4]) or "none"
        return CertProblem(
            FailureReason.IDENTITY_MISMATCH,
            f"the signing certificate is for {shown}, not {identity.subject!r}",
        )
    return None


def _chains(cert: x509.Certificate, ca: CertificateAuthority) -> bool:
    child = cert
    for parent in ca.chain:
        if not _is_ca(parent):
            return False
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            return False
        child = parent
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _valid(cert: x509.Certificate, when: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


def _window(cert: x509.Certificate) -> str:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return f"{cert.not_valid_before_utc.strftime(fmt)} to {cert.not_valid_after_utc.strftime(fmt)}"


def fulcio_issuer(cert: x509.Certificate) -> str | None:
    """The OIDC issuer Fulcio recorded: the v2 extension (a DER UTF8String), else the legacy raw one."""
    for oid, parse in ((FULCIO_ISSUER_OID, _der_utf8), (FULCIO_LEGACY_ISSUER_OID, _raw_text)):
        try:
            ext = cert.extensions.get_extension_for_oid(oid).value
        except x509.ExtensionNotFound:
            continue
        if isinstance(ext, x509.UnrecognizedExtension):
            return parse(ext.value)
    return None


def _der_utf8(value: bytes) -> str | None:
    """A DER UTF8String (tag 12) with a short or long-form length; None when it is anything else."""
    if len(value) < 2 or value[0] != 0x0C:
        return None
    length, offset = value[1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 2 or len(value) < 2 + count:
            return None
        length, offset = int.from_bytes(value[2 : 2 + count], "big"), 2 + count
    if len(value) != offset + length:
        return None
    try:
        return value[offset:].decode()
    except UnicodeDecodeError:
        return None


def _raw_text(value: bytes) -> str | None:
    try:
        return value.decode()
    except UnicodeDecodeError:
        return None


def subject_names(cert: x509.Certificate) -> list[str]:
    """The email and URI subject alternative names (what Fulcio puts the identity in)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [*san.get_values_for_type(x509.RFC822Name), *san.get_values_for_type(x509.UniformResourceIdentifier)]
