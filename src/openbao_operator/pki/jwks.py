"""JSON Web Keys (RSA, EC) as PEM public keys: what OpenBao's JWT auth takes in ``jwt_validation_pubkeys``.

Why PEM keys in OpenBao's config rather than ``oidc_discovery_url``: OpenBao would then have to reach the
API server's discovery URL itself, which is often impossible or unauthenticated access is off, and the
``jwks_uri`` it names is the API server's external address, not one a pod can reach; with the keys given at
self-init, OpenBao validates tokens offline. The cost is that a rotation of the cluster's ServiceAccount
signing key needs the keys written again (docs/backup-restore.md).
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

_CURVES: dict[str, ec.EllipticCurve] = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}


class JwkError(ValueError):
    """A key of the set cannot be used."""


def _int(value: Any, name: str) -> int:
    if not isinstance(value, str) or not value:
        raise JwkError(f"missing {name}")
    padded = value + "=" * (-len(value) % 4)
    try:
        return int.from_bytes(base64.urlsafe_b64decode(padded), "big")
    except ValueError:
        raise JwkError(f"{name} is not base64url") from None


def jwk_to_pem(jwk: dict[str, Any]) -> str:
    """One signing key (``use`` sig or unset) as a PEM SubjectPublicKeyInfo."""
    kty = jwk.get("kty")
    public: rsa.RSAPublicKey | ec.EllipticCurvePublicKey
    if kty == "RSA":
        public = rsa.RSAPublicNumbers(e=_int(jwk.get("e"), "e"), n=_int(jwk.get("n"), "n")).public_key()
    elif kty == "EC":
        curve = _CURVES.get(str(jwk.get("crv")))
        if curve is None:
            raise JwkError(f"unsupported curve {jwk.get('crv')!r}")
        try:
            public = ec.EllipticCurvePublicNumbers(
                x=_int(jwk.get("x"), "x"), y=_int(jwk.get("y"), "y"), curve=curve
            ).public_key()
        except ValueError as exc:
            raise JwkError(f"not a point of {jwk.get('crv')}: {exc}") from None
    else:
        raise JwkError(f"unsupported key type {kty!r}")
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def jwks_to_pems(jwks: dict[str, Any]) -> tuple[str, ...]:
    """Every signing key of a JWKS as PEM, in the set's order; a set without one is an error."""
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        raise JwkError("the key set has no keys")
    pems = tuple(jwk_to_pem(k) for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig")
    if not pems:
        raise JwkError("the key set has no signing key")
    return pems
