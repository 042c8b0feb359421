"""cosign v2 simple-signing and v3 bundle checks on canned artifacts, including Rekor SETs."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from openbao_operator.imagesig.cosign import check_bundle, check_simple_signing, pae
from openbao_operator.imagesig.errors import FailureReason, InvalidConfiguration
from openbao_operator.imagesig.keys import load_public_key
from openbao_operator.imagesig.tlog import rekor_keys_from_trusted_root
from tests.unit.imagesig.canned import (
    DIGEST,
    OTHER_DIGEST,
    Rekor,
    Signer,
    bundle,
    simple_signing_payload,
    statement,
)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.new()


@pytest.fixture(scope="module")
def other() -> Signer:
    return Signer.new()


@pytest.fixture(scope="module")
def rekor() -> Rekor:
    return Rekor(Signer.new())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def v2(signer: Signer, key: Signer, payload: bytes | None = None, **kw: object) -> FailureReason | None:
    body = simple_signing_payload() if payload is None else payload
    sig = kw.pop("signature", None) or b64(signer.sign(body))
    check = check_simple_signing(
        payload=body,
        signature_b64=str(sig),
        signer=load_public_key(key.public_pem),
        digest=DIGEST,
        require_tlog=bool(kw.pop("require_tlog", False)),
        **kw,  # type: ignore[arg-type]
    )
    return check.reason


# -- DSSE PAE ----------------------------------------------------------------------------------------


def test_pae_is_the_dsse_v1_encoding_with_byte_lengths() -> None:
    assert pae("a/b", b"hello") == b"DSSEv1 3 a/b 5 hello"
    assert pae("t", "é".encode()) == b"DSSEv1 1 t 2 \xc3\xa9"


# -- v2 simple signing -------------------------------------------------------------------------------


def test_v2_signature_by_the_key_naming_the_digest_verifies(signer: Signer) -> None:
    assert v2(signer, signer) is None


def test_v2_signature_by_another_key_fails(signer: Signer, other: Signer) -> None:
    assert v2(other, signer) is FailureReason.SIGNATURE_MISMATCH


def test_v2_corrupted_signature_or_payload_fails(signer: Signer) -> None:
    body = simple_signing_payload()
    sig = bytearray(signer.sign(body))
    sig[10] ^= 1
    assert v2(signer, signer, signature=b64(bytes(sig))) is FailureReason.SIGNATURE_MISMATCH
    assert v2(signer, signer, signature="not base64 !!") is FailureReason.SIGNATURE_MISMATCH
    good = b64(signer.sign(body))
    tampered = body.replace(b'"optional": null', b'"optional": {}')
    assert tampered != body
    assert v2(signer, signer, payload=tampered, signature=good) is FailureReason.SIGNATURE_MISMATCH


def test_v2_payload_must_name_the_resolved_digest_and_be_a_cosign_signature(signer: Signer) -> None:
    assert v2(signer, signer, payload=simple_signing_payload(OTHER_DIGEST)) is FailureReason.CLAIMS_MISMATCH
    assert v2(signer, signer, payload=simple_signing_payload(type_="something else")) is FailureReason.CLAIMS_MISMATCH
    assert v2(signer, signer, payload=b'{"critical": {}}') is FailureReason.CLAIMS_MISMATCH
    assert v2(signer, signer, payload=b"not json") is FailureReason.CLAIMS_MISMATCH


def test_v2_tlog_required_without_entry_fails_with_a_clear_reason(signer: Signer) -> None:
    body = simple_signing_payload()
    check = check_simple_signing(
        payload=body,
        signature_b64=b64(signer.sign(body)),
        signer=load_public_key(signer.public_pem),
        digest=DIGEST,
        require_tlog=True,
    )
    assert check.reason is FailureReason.TLOG_ENTRY_MISSING
    assert "ignoreTlog: true" in check.message


def test_v2_tlog_entry_verifies_with_a_trusted_rekor_key(signer: Signer, rekor: Rekor, other: Signer) -> None:
    body = simple_signing_payload()
    sig = signer.sign(body)
    keys = rekor_keys_from_trusted_root(rekor.trusted_root())
    annotation = rekor.cosign_annotation(rekor.hashedrekord_body(body, sig, signer))

    def run(annotation: str, keys: object = keys) -> FailureReason | None:
        return check_simple_signing(
            payload=body,
            signature_b64=b64(sig),
            signer=load_public_key(signer.public_pem),
            digest=DIGEST,
            rekor_bundle=annotation,
            require_tlog=True,
            rekor_keys=keys,  # type: ignore[arg-type]
        ).reason

    assert run(annotation) is None
    # No trusted Rekor key: the entry cannot be checked, and the reason says so.
    assert run(annotation, keys=None) is FailureReason.TLOG_UNVERIFIABLE
    # A SET made by another "log" (key not trusted), or tampered with.
    assert run(Rekor(other).cosign_annotation(rekor.hashedrekord_body(body, sig, signer))) is (
        FailureReason.TLOG_UNVERIFIABLE
    )
    doc = json.loads(annotation)
    doc["Payload"]["logIndex"] += 1
    assert run(json.dumps(doc)) is FailureReason.TLOG_UNVERIFIABLE
    # A genuine entry for another signature does not count for this one.
    foreign = rekor.cosign_annotation(rekor.hashedrekord_body(b"other payload", sig, signer))
    assert run(foreign) is FailureReason.TLOG_UNVERIFIABLE
    # Integrated before the Rekor key's validity window.
    assert run(rekor.cosign_annotation(rekor.hashedrekord_body(body, sig, signer), integrated_time=1)) is (
        FailureReason.TLOG_UNVERIFIABLE
    )
    assert run("not json") is FailureReason.TLOG_UNVERIFIABLE


# -- v3 bundles --------------------------------------------------------------------------------------


def v3(data: bytes, key: Signer, **kw: object) -> FailureReason | None:
    return check_bundle(
        bundle=data,
        signer=load_public_key(key.public_pem),
        digest=DIGEST,
        require_tlog=bool(kw.pop("require_tlog", False)),
        **kw,  # type: ignore[arg-type]
    ).reason


def test_v3_bundle_by_the_key_naming_the_digest_verifies(signer: Signer) -> None:
    assert v3(bundle(signer), signer) is None


def test_v3_bundle_by_another_key_fails(signer: Signer, other: Signer) -> None:
    assert v3(bundle(other), signer) is FailureReason.SIGNATURE_MISMATCH


def test_v3_signature_over_the_raw_payload_instead_of_the_pae_fails(signer: Signer) -> None:
    body = statement()
    assert v3(bundle(signer, body, signature=signer.sign(body)), signer) is FailureReason.SIGNATURE_MISMATCH


def test_v3_corrupted_bundle_fails(signer: Signer) -> None:
    good = json.loads(bundle(signer))
    flipped = json.loads(bundle(signer))
    sig = bytearray(base64.b64decode(flipped["dsseEnvelope"]["signatures"][0]["sig"]))
    sig[5] ^= 1
    flipped["dsseEnvelope"]["signatures"][0]["sig"] = b64(bytes(sig))
    assert v3(json.dumps(flipped).encode(), signer) is FailureReason.SIGNATURE_MISMATCH
    swapped = json.loads(bundle(signer))
    swapped["dsseEnvelope"]["payload"] = b64(statement(OTHER_DIGEST))
    assert v3(json.dumps(swapped).encode(), signer) is FailureReason.SIGNATURE_MISMATCH
    retyped = dict(good, dsseEnvelope=dict(good["dsseEnvelope"], payloadType="text/plain"))
    assert v3(json.dumps(retyped).encode(), signer) is FailureReason.SIGNATURE_MISMATCH
    two = dict(good, dsseEnvelope=dict(good["dsseEnvelope"], signatures=good["dsseEnvelope"]["signatures"] * 2))
    assert v3(json.dumps(two).encode(), signer) is FailureReason.SIGNATURE_MISMATCH
    for broken in (b"", b"[]", b"{}", b'{"dsseEnvelope": {"payload": 1}}', json.dumps(good).encode()[:-5]):
        assert v3(broken, signer) is FailureReason.SIGNATURE_MISMATCH


def test_v3_statement_must_be_a_cosign_signature_naming_the_digest(signer: Signer) -> None:
    assert v3(bundle(signer, statement(OTHER_DIGEST)), signer) is FailureReason.CLAIMS_MISMATCH
    attestation = statement(predicate_type="https://slsa.dev/provenance/v1")
    assert v3(bundle(signer, attestation), signer) is FailureReason.CLAIMS_MISMATCH
    assert v3(bundle(signer, b"{}"), signer) is FailureReason.CLAIMS_MISMATCH
    assert v3(bundle(signer, statement(), payload_type="text/plain"), signer) is FailureReason.CLAIMS_MISMATCH


def test_v3_tlog_required(signer: Signer, rekor: Rekor, other: Signer) -> None:
    keys = rekor_keys_from_trusted_root(rekor.trusted_root())
    body = statement()
    sig = signer.sign(pae("application/vnd.in-toto+json", body))
    assert v3(bundle(signer, body, signature=sig), signer, require_tlog=True) is FailureReason.TLOG_ENTRY_MISSING
    entry = rekor.bundle_entry(rekor.dsse_body(body, sig, signer))
    with_entry = bundle(signer, body, signature=sig, tlog_entries=[entry])
    assert v3(with_entry, signer, require_tlog=True, rekor_keys=keys) is None
    assert v3(with_entry, signer, require_tlog=True) is FailureReason.TLOG_UNVERIFIABLE
    assert v3(with_entry, signer, require_tlog=False) is None
    foreign = rekor.bundle_entry(rekor.dsse_body(body, other.sign(b"x"), signer))
    assert v3(
        bundle(signer, body, signature=sig, tlog_entries=[foreign]), signer, require_tlog=True, rekor_keys=keys
    ) is (FailureReason.TLOG_UNVERIFIABLE)
    # The first entry is not trusted, the second is: one good entry is enough.
    untrusted = Rekor(other).bundle_entry(rekor.dsse_body(body, sig, signer))
    both = bundle(signer, body, signature=sig, tlog_entries=[untrusted, entry])
    assert v3(both, signer, require_tlog=True, rekor_keys=keys) is None


# -- keys --------------------------------------------------------------------------------------------


def test_keys_of_every_supported_type_verify_and_fingerprints_differ() -> None:
    message = b"payload"
    fingerprints = set()
    for private in (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP384R1()),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ed25519.Ed25519PrivateKey.generate(),
    ):
        pem = (
            private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        key = load_public_key(pem)
        fingerprints.add(key.fingerprint)
        if isinstance(private, ec.EllipticCurvePrivateKey):
            algo = hashes.SHA256() if private.curve.name == "secp256r1" else hashes.SHA384()
            sig = private.sign(message, ec.ECDSA(algo))
        elif isinstance(private, rsa.RSAPrivateKey):
            sig = private.sign(message, padding.PKCS1v15(), hashes.SHA256())
        else:
            sig = private.sign(message)
        assert key.verify(sig, message)
        assert not key.verify(sig, message + b"!")
    assert len(fingerprints) == 4


@pytest.mark.parametrize(
    "pem",
    ["", "not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"],
)
def test_unparsable_public_key_is_a_configuration_error_naming_the_field(pem: str) -> None:
    with pytest.raises(InvalidConfiguration, match=r"spec\.imageVerification\.publicKey"):
        load_public_key(pem)


def test_small_rsa_keys_are_refused() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - a weak key is the point
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(InvalidConfiguration, match="2048"):
        load_public_key(pem.decode())
