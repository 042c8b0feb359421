"""The verification key of spec.imageVerification.publicKey: parsing, fingerprint, signature check.

cosign keys are ECDSA P-256 by default (`cosign generate-key-pair`); imported keys may be P-384/P-521,
RSA (PKCS#1 v1.5, SHA-256, as sigstore's RSA verifier) or Ed25519. The fingerprint (SHA-256 of the
DER SubjectPublicKeyInfo) keys the verdict cache, so a new key never reuses an old verdict.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from .errors import InvalidConfiguration

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey

_EC_HASH: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}


@dataclass(frozen=True)
class VerificationKey:
    """A parsed public key and its fingerprint (`sha256:<hex of the DER SubjectPublicKeyInfo>`)."""

    key: PublicKey
    fingerprint: str

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is a valid signature of ``message`` by this key."""
        try:
            if isinstance(self.key, ec.EllipticCurvePublicKey):
                self.key.verify(signature, message, ec.ECDSA(_EC_HASH[self.key.curve.name]()))
            elif isinstance(self.key, rsa.RSAPublicKey):
                self.key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
            else:
                self.key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def load_public_key(pem: str) -> VerificationKey:
    """Parse a PEM public key; raises :class:`InvalidConfiguration` naming the field, not the value."""
    try:
        key = serialization.load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError):
        raise InvalidConfiguration("spec.imageVerification.publicKey is not a PEM public key") from None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in _EC_HASH:
            raise InvalidConfiguration(f"spec.imageVerification.publicKey: unsupported curve {key.curve.name}")
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise InvalidConfiguration("spec.imageVerification.publicKey: RSA keys must have at least 2048 bits")
    elif not isinstance(key, ed25519.Ed25519PublicKey):
        raise InvalidConfiguration(
            "spec.imageVerification.publicKey: only ECDSA (P-256/384/521), RSA and Ed25519 keys are supported"
        )
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return VerificationKey(key=key, fingerprint="sha256:" + hashlib.sha256(der).hexdigest())
