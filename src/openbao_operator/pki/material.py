"""PEM in and out, key pairs, fingerprints, and the redacting container for Secret data.

Why: every other module of the package handles certificates and keys as `cryptography` objects and
converts at this one edge, where parsing failures become values (None) instead of exceptions, so a
corrupt Secret is a decision input, not a crash. Private keys never reach a repr or a log line:
`SecretData` prints key names and sizes only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

KeyFactory = Callable[[], ec.EllipticCurvePrivateKey]
"""Draws a new P-256 private key; injected so tests can use fixed keys (see `p256_key_from_seed`)."""

SerialFactory = Callable[[], int]
"""Draws a certificate serial number (positive, at most 159 bits); injected for reproducible tests."""

PEM_CERT_BEGIN: Final = b"-----BEGIN CERTIFICATE-----"


def generate_p256_key() -> ec.EllipticCurvePrivateKey:
    """The default KeyFactory: a fresh ECDSA P-256 key from the OS CSPRNG."""
    return ec.generate_private_key(ec.SECP256R1())


def random_serial() -> int:
    """The default SerialFactory: 159 random bits (RFC 5280 allows at most 20 octets, positive)."""
    return x509.random_serial_number()


def p256_key_from_seed(seed: int) -> ec.EllipticCurvePrivateKey:
    """A deterministic P-256 key for tests and examples: never use it for real material."""
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    return ec.derive_private_key(1 + seed % (order - 1), ec.SECP256R1())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def certs_pem(certs: list[x509.Certificate] | tuple[x509.Certificate, ...]) -> bytes:
    """A bundle: the PEM certificates concatenated, in the given order."""
    return b"".join(cert_pem(c) for c in certs)


def key_pem(key: PrivateKeyTypes) -> bytes:
    """PKCS#8 PEM ("PRIVATE KEY"), unencrypted: what kubernetes.io/tls Secrets and OpenBao read."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def fingerprint(cert: x509.Certificate) -> str:
    """sha256 hex of the certificate's DER: the value folded into a pod-template hash when the running
    OpenBao cannot reload certificates by itself."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def load_certs(data: bytes | None) -> tuple[x509.Certificate, ...] | None:
    """Every certificate of a PEM bundle, in order; None when absent, empty or unparsable."""
    if not data or PEM_CERT_BEGIN not in data:
        return None
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        return None
    return tuple(certs) or None


def load_key(data: bytes | None) -> PrivateKeyTypes | None:
    """An unencrypted PEM private key (PKCS#8, SEC1 or PKCS#1); None when absent or unparsable."""
    if not data:
        return None
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        return None


def _spki(public_key: object) -> bytes | None:
    encode = getattr(public_key, "public_bytes", None)
    if encode is None:
        return None
    der: bytes = encode(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return der


def key_matches(cert: x509.Certificate, key: PrivateKeyTypes) -> bool:
    """True when `key` is the private half of `cert`'s public key."""
    mine = _spki(key.public_key())
    return mine is not None and mine == _spki(cert.public_key())


class SecretData(Mapping[str, bytes]):
    """The `data` of a Secret as raw bytes (the kube layer base64-encodes), read-only, never printed.

    Why a class: it holds private keys, and dataclass reprs, f-strings and structlog would otherwise
    print them. `repr()` shows key names and sizes only; equality compares the bytes, so "unchanged"
    is a plain `==`.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, bytes]) -> None:
        self._items: dict[str, bytes] = {k: bytes(v) for k, v in sorted(items.items())}

    def __getitem__(self, key: str) -> bytes:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SecretData):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self._items == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: <{len(v)} bytes>" for k, v in self._items.items())
        return f"SecretData({{{sizes}}})"

    __str__ = __repr__

    def as_dict(self) -> dict[str, bytes]:
        """A plain copy, for the kube layer."""
        return dict(self._items)
