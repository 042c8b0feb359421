"""Issuing the CA and the server certificate, with injected clock, keys and serials.

Why these extensions: the CA is a root that may sign only end-entity certificates (pathLen 0), and
the server certificate is used both to serve (listener) and as a client certificate in raft joins
(`leader_client_cert_file`), hence serverAuth + clientAuth. SKI/AKI let verifiers pick the right CA
while an old and a new CA share the trust bundle. Signatures are deterministic ECDSA (RFC 6979), so the
same key, serial and `now` give byte-identical certificates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .material import KeyFactory, SerialFactory, cert_pem, key_pem
from .names import ServerNames
from .policy import RotationPolicy, as_utc, not_after


@dataclass(frozen=True, repr=False)
class IssuedCert:
    """A certificate with its private key. repr never shows the key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        return key_pem(self.key)

    def __repr__(self) -> str:
        return f"IssuedCert(subject={self.cert.subject.rfc4514_string()!r}, serial={self.cert.serial_number:x})"


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def issue_ca(
    *,
    cluster_name: str,
    now: datetime,
    new_key: KeyFactory,
    new_serial: SerialFactory,
    policy: RotationPolicy,
) -> IssuedCert:
    """A self-signed P-256 root: BasicConstraints(ca, pathLen 0) and KeyUsage critical, SKI and AKI.

    The subject carries the issuance minute, so an outgoing and an incoming CA never share a subject
    in the trust bundle.
    """
    now = as_utc(now)
    key = new_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OpenBao Operator"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, cluster_name),
            x509.NameAttribute(NameOID.COMMON_NAME, f"OpenBao CA {now:%Y-%m-%d %H:%M}"),
        ]
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(new_serial())
        .not_valid_before(now - policy.backdate)
        .not_valid_after(now - policy.backdate + policy.ca_lifetime)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    return IssuedCert(cert=cert, key=key)


def issue_server_cert(
    *,
    cluster_name: str,
    names: ServerNames,
    signer: IssuedCert,
    now: datetime,
    new_key: KeyFactory,
    new_serial: SerialFactory,
    policy: RotationPolicy,
) -> IssuedCert:
    """A P-256 server/client certificate for `names`, signed by `signer`, never outliving it."""
    now = as_utc(now)
    key = new_key()
    start = now - policy.backdate
    end = min(start + policy.leaf_lifetime, not_after(signer.cert))
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names.dns]
    sans += [x509.IPAddress(ip) for ip in names.ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cluster_name)]))
        .issuer_name(signer.cert.subject)
        .public_key(key.public_key())
        .serial_number(new_serial())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.key.public_key()),
            critical=False,
        )
        .sign(signer.key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    return IssuedCert(cert=cert, key=key)
