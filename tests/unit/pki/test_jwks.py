"""JWKS keys (RSA and EC, as API servers publish them) become the same public keys in PEM."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from openbao_operator.pki.jwks import JwkError, jwk_to_pem, jwks_to_pems


def _b64(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def _pem(key: Any) -> str:
    text: str = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return text


def test_rsa_and_ec_keys() -> None:
    r = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    e = ec.generate_private_key(ec.SECP256R1()).public_key()
    rn, en = r.public_numbers(), e.public_numbers()
    jwks = {
        "keys": [
            {"use": "sig", "kty": "RSA", "alg": "RS256", "kid": "a", "n": _b64(rn.n), "e": _b64(rn.e)},
            {"kty": "EC", "crv": "P-256", "kid": "b", "x": _b64(en.x), "y": _b64(en.y)},
            {"use": "enc", "kty": "RSA", "n": _b64(rn.n), "e": _b64(rn.e)},
        ]
    }
    assert jwks_to_pems(jwks) == (_pem(r), _pem(e))


@pytest.mark.parametrize(
    ("jwk", "message"),
    [
        ({"kty": "oct", "k": "abc"}, "unsupported key type"),
        ({"kty": "EC", "crv": "P-192", "x": "AQ", "y": "AQ"}, "unsupported curve"),
        ({"kty": "EC", "crv": "P-256", "x": "AQ", "y": "AQ"}, "not a point"),
        ({"kty": "RSA", "e": "AQAB"}, "missing n"),
    ],
)
def test_unusable_keys(jwk: dict[str, Any], message: str) -> None:
    with pytest.raises(JwkError, match=message):
        jwk_to_pem(jwk)


def test_a_set_without_signing_keys() -> None:
    with pytest.raises(JwkError, match="no signing key"):
        jwks_to_pems({"keys": [{"use": "enc", "kty": "RSA", "n": "AQ", "e": "AQAB"}]})
