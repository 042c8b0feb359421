"""A test Fulcio and a test Rekor, made here with cryptography, for keyless verification without a network.

Why: keyless cosign signatures are certificates issued by Fulcio for an OIDC identity, logged in Rekor;
an offline cluster trusts them through a Sigstore ``trusted_root.json``. Tests need the same shapes from
a CA and a log key they own: a root (and an intermediate) CA, leaf certificates carrying the Fulcio
issuer extensions and an email or URI SAN, a ``trusted_root.json`` naming both, and Rekor entries whose
signed entry timestamp (SET) the test log key signs. Unit tests use them directly; the integration tests
hand the same files to the real cosign CLI (``--certificate``, ``--rekor-response``, ``--trusted-root``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.peers.certs import ca_certificate

ISSUER_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
LEGACY_ISSUER_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
OIDC_ISSUER = "https://issuer.test.example"
EMAIL = "signer@test.example"
URI = "https://github.com/openbao/openbao/.github/workflows/release.yml@refs/tags/v2.4.1"

UTC = dt.UTC
NOW = dt.datetime.now(UTC).replace(microsecond=0)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.test"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _der_utf8(text: str) -> bytes:
    raw = text.encode()
    if len(raw) < 128:
        return bytes([0x0C, len(raw)]) + raw
    return bytes([0x0C, 0x82]) + len(raw).to_bytes(2, "big") + raw


def wall_clock() -> dt.datetime:
    """The real time at the call: a long test session must not outlive leaves made for real signing."""
    return dt.datetime.now(UTC)


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def rfc3339(when: dt.datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class TestCA:
    """A root CA and (optionally) an intermediate; leaves are issued by the intermediate when there is one."""

    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    intermediate_key: ec.EllipticCurvePrivateKey | None = None
    intermediate: x509.Certificate | None = None
    valid_from: dt.datetime = NOW - dt.timedelta(days=1)
    valid_to: dt.datetime | None = None
    clock: Callable[[], dt.datetime] = lambda: NOW
    """Where a leaf's default validity starts from. Unit tests check at NOW, so leaves start from NOW;
    integration tests sign with real tools at real times and pass ``clock=wall_clock``."""

    __test__ = False  # not a pytest class

    @classmethod
    def new(
        cls,
        name: str = "test-fulcio",
        *,
        intermediate: bool = True,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> TestCA:
        start = not_before or NOW - dt.timedelta(days=30)
        end = not_after or NOW + dt.timedelta(days=365)
        root_key = ec.generate_private_key(ec.SECP384R1())
        root = _ca_cert(root_key, root_key.public_key(), _name(f"{name} root"), _name(f"{name} root"), start, end, 1)
        ca = cls(root_key=root_key, root=root, valid_from=start)
        if clock is not None:
            ca.clock = clock
        if intermediate:
            ikey = ec.generate_private_key(ec.SECP384R1())
            ca.intermediate_key = ikey
            ca.intermediate = _ca_cert(
                root_key, ikey.public_key(), _name(f"{name} root"), _name(f"{name} intermediate"), start, end, 0
            )
        return ca

    @property
    def issuing(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        if self.intermediate is not None and self.intermediate_key is not None:
            return self.intermediate_key, self.intermediate
        return self.root_key, self.root

    @property
    def chain(self) -> list[x509.Certificate]:
        """Issuer first, root last (what cosign's --certificate-chain and trusted_root certChain hold)."""
        return [c for c in (self.intermediate, self.root) if c is not None]

    @property
    def chain_pem(self) -> str:
        return "".join(pem(c) for c in self.chain)

    def leaf(
        self,
        public_key: ec.EllipticCurvePublicKey,
        *,
        email: str | None = EMAIL,
        uri: str | None = None,
        issuer: str | None = OIDC_ISSUER,
        legacy_issuer: str | None = OIDC_ISSUER,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        code_signing: bool = True,
    ) -> x509.Certificate:
        """A Fulcio-style leaf: empty subject, SAN email/URI, issuer extension(s), EKU codeSigning."""
        key, issuer_cert = self.issuing
        start = not_before or self.clock().replace(microsecond=0) - dt.timedelta(minutes=5)
        end = not_after or start + dt.timedelta(minutes=10)
        names: list[x509.GeneralName] = []
        if email:
            names.append(x509.RFC822Name(email))
        if uri:
            names.append(x509.UniformResourceIdentifier(uri))
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(issuer_cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        )
        if code_signing:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=True)
        if issuer is not None:
            builder = builder.add_extension(x509.UnrecognizedExtension(ISSUER_OID, _der_utf8(issuer)), critical=False)
        if legacy_issuer is not None:
            builder = builder.add_extension(
                x509.UnrecognizedExtension(LEGACY_ISSUER_OID, legacy_issuer.encode()), critical=False
            )
        return builder.sign(key, hashes.SHA384())

    def authority(self, *, start: dt.datetime | None = None, end: dt.datetime | None = None) -> dict[str, Any]:
        """This CA as a trusted_root.json `certificateAuthorities[]` item."""
        valid: dict[str, str] = {"start": rfc3339(start or self.valid_from)}
        if end is not None:
            valid["end"] = rfc3339(end)
        return {
            "subject": {"organization": "sigstore.test", "commonName": "test-fulcio"},
            "uri": "https://fulcio.test.example",
            "certChain": {
                "certificates": [{"rawBytes": b64(c.public_bytes(serialization.Encoding.DER))} for c in self.chain]
            },
            "validFor": valid,
        }


def _ca_cert(
    signing_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    subject: x509.Name,
    start: dt.datetime,
    end: dt.datetime,
    path_length: int,
) -> x509.Certificate:
    return ca_certificate(
        subject=subject,
        public_key=public_key,
        signing_key=signing_key,
        issuer=issuer,
        not_before=start,
        not_after=end,
        path_length=path_length,
        key_ids=True,
        digital_signature=False,
        algorithm=hashes.SHA384(),
    )


@dataclass
class TestRekor:
    """A transparency-log key; it signs SETs for entries it never stores (nothing checks inclusion offline)."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    __test__ = False

    @property
    def public_der(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def public_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    @property
    def log_id(self) -> bytes:
        return hashlib.sha256(self.public_der).digest()

    def tlog(self, *, start: dt.datetime | None = None) -> dict[str, Any]:
        """This log as a trusted_root.json `tlogs[]` item."""
        return {
            "baseUrl": "https://rekor.test.example",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": b64(self.public_der),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": rfc3339(start or NOW - dt.timedelta(days=30))},
            },
            "logId": {"keyId": b64(self.log_id)},
        }

    def set_for(self, *, body: str, integrated_time: int, log_index: int) -> bytes:
        """The SET: a signature over the canonical JSON of the entry's promise."""
        doc = {"body": body, "integratedTime": integrated_time, "logID": self.log_id.hex(), "logIndex": log_index}
        canonical = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        return self.key.sign(canonical, ec.ECDSA(hashes.SHA256()))

    def hashedrekord(
        self, *, payload: bytes, signature: bytes, cert: x509.Certificate, integrated_time: int, log_index: int = 7
    ) -> dict[str, Any]:
        """A cosign `rekorBundle` ({SignedEntryTimestamp, Payload}) for a hashedrekord of a cert-signed payload."""
        body_doc = {
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
                "signature": {"content": b64(signature), "publicKey": {"content": b64(pem(cert).encode())}},
            },
        }
        body = b64(json.dumps(body_doc, separators=(",", ":")).encode())
        return {
            "SignedEntryTimestamp": b64(self.set_for(body=body, integrated_time=integrated_time, log_index=log_index)),
            "Payload": {
                "body": body,
                "integratedTime": integrated_time,
                "logIndex": log_index,
                "logID": self.log_id.hex(),
            },
        }


def trusted_root(cas: list[dict[str, Any]], tlogs: list[dict[str, Any]]) -> dict[str, Any]:
    """A Sigstore trusted_root.json document (media type v0.1)."""
    return {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": tlogs,
        "certificateAuthorities": cas,
        "ctlogs": [],
        "timestampAuthorities": [],
    }
