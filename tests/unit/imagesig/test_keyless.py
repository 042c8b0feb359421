"""Keyless certificate checks: the chain to the trusted root, validity at the signing time, issuer and subject.

Certificates come from the test Fulcio in :mod:`tests.unit.imagesig.fulcio`; signatures from cryptography.
The real cosign CLI's keyless artifacts are covered in tests/integration/test_imagesig_registry.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from openbao_operator.api.workload import ImageVerificationConfig
from openbao_operator.imagesig import Failed, FailureReason, ImageVerifier, Verified, decide
from openbao_operator.imagesig.cosign import KeylessPolicy, check_bundle, check_simple_signing, pae
from openbao_operator.imagesig.errors import InvalidConfiguration
from openbao_operator.imagesig.keyless import (
    Identity,
    TrustedRoot,
    check_certificate,
    fulcio_issuer,
    parse_trusted_root,
    subject_names,
)
from openbao_operator.imagesig.public_good import EmbeddedRoot
from tests.unit.imagesig.canned import DIGEST, OTHER_DIGEST, simple_signing_payload, statement
from tests.unit.imagesig.fulcio import (
    EMAIL,
    NOW,
    OIDC_ISSUER,
    URI,
    TestCA,
    TestRekor,
    b64,
    pem,
    trusted_root,
)

IDENTITY = Identity(issuer=OIDC_ISSUER, subject=EMAIL)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def root_of(*cas: TestCA, rekor: TestRekor | None = None) -> TrustedRoot:
    doc = trusted_root([ca.authority() for ca in cas], [rekor.tlog()] if rekor else [])
    return parse_trusted_root(json.dumps(doc), source="test root")


def check(cert: x509.Certificate, root: TrustedRoot, *, identity: Identity = IDENTITY, at: dt.datetime = NOW) -> Any:
    return check_certificate(cert, root=root, identity=identity, signed_at=at, time_source="test")


# -- the trusted root -------------------------------------------------------------------------------


def test_trusted_root_parses_cas_and_rekor_keys() -> None:
    ca, rekor = TestCA.new(), TestRekor()
    root = root_of(ca, rekor=rekor)
    assert len(root.authorities) == 1
    assert root.authorities[0].chain == (ca.intermediate, ca.root)
    assert list(root.rekor_keys) == [rekor.log_id.hex()]
    assert root.fingerprint.startswith("sha256:")


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({"certificateAuthorities": "x"}),
        json.dumps({"certificateAuthorities": [{"certChain": {"certificates": [{"rawBytes": "!!"}]}}]}),
        json.dumps({"certificateAuthorities": [{"certChain": {"certificates": []}}]}),
        json.dumps({"tlogs": [{"publicKey": {"rawBytes": b64(b"not a key")}}]}),
    ],
)
def test_a_malformed_trusted_root_is_a_configuration_error_naming_the_source(text: str) -> None:
    with pytest.raises(InvalidConfiguration, match="test root") as info:
        parse_trusted_root(text, source="test root")
    assert "!!" not in info.value.message


# -- the certificate --------------------------------------------------------------------------------


def test_a_fulcio_style_leaf_passes() -> None:
    ca = TestCA.new()
    assert check(ca.leaf(ec_key().public_key()), root_of(ca)) is None


def test_a_leaf_issued_directly_by_a_root_passes() -> None:
    ca = TestCA.new(intermediate=False)
    assert check(ca.leaf(ec_key().public_key()), root_of(ca)) is None


def test_a_certificate_from_another_ca_is_untrusted_even_with_the_same_names() -> None:
    trusted, other = TestCA.new(), TestCA.new()  # same subject names, other keys
    problem = check(other.leaf(ec_key().public_key()), root_of(trusted))
    assert problem.reason is FailureReason.CERTIFICATE_UNTRUSTED
    assert "does not chain" in problem.message


def test_any_ca_of_the_root_may_have_issued_it() -> None:
    first, second = TestCA.new("first"), TestCA.new("second")
    assert check(second.leaf(ec_key().public_key()), root_of(first, second)) is None


def test_a_leaf_posing_as_a_ca_breaks_the_chain() -> None:
    ca = TestCA.new()
    leaf_key = ec_key()
    leaf = ca.leaf(leaf_key.public_key())
    # A "grandchild" signed by the leaf: the leaf is no CA, so the chain stops there.
    forged = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(leaf.subject)
        .public_key(ec_key().public_key())
        .serial_number(1)
        .not_valid_before(NOW - dt.timedelta(minutes=1))
        .not_valid_after(NOW + dt.timedelta(minutes=1))
        .sign(leaf_key, hashes.SHA256())
    )
    doc = trusted_root([ca.authority()], [])
    doc["certificateAuthorities"][0]["certChain"]["certificates"].insert(
        0, {"rawBytes": b64(leaf.public_bytes(serialization.Encoding.DER))}
    )
    root = parse_trusted_root(json.dumps(doc), source="test root")
    assert check(forged, root).reason is FailureReason.CERTIFICATE_UNTRUSTED


def test_expired_at_the_signing_time() -> None:
    ca = TestCA.new()
    leaf = ca.leaf(ec_key().public_key(), not_before=NOW - dt.timedelta(hours=2))  # 10 minutes, long gone
    problem = check(leaf, root_of(ca))
    assert problem.reason is FailureReason.CERTIFICATE_EXPIRED
    assert "not valid at the signing time" in problem.message
    # The same certificate at a signing time inside its ten minutes passes.
    assert check(leaf, root_of(ca), at=NOW - dt.timedelta(hours=2) + dt.timedelta(minutes=3)) is None


def test_a_ca_outside_its_trusted_root_window_is_expired_at_the_signing_time() -> None:
    ca = TestCA.new()
    doc = trusted_root([ca.authority(end=NOW - dt.timedelta(days=1))], [])
    problem = check(ca.leaf(ec_key().public_key()), parse_trusted_root(json.dumps(doc), source="r"))
    assert problem.reason is FailureReason.CERTIFICATE_EXPIRED
    assert "certificate authority" in problem.message


def test_a_certificate_without_code_signing_is_untrusted() -> None:
    ca = TestCA.new()
    problem = check(ca.leaf(ec_key().public_key(), code_signing=False), root_of(ca))
    assert problem.reason is FailureReason.CERTIFICATE_UNTRUSTED
    assert "code signing" in problem.message


def test_issuer_mismatch() -> None:
    ca = TestCA.new()
    leaf = ca.leaf(ec_key().public_key(), issuer="https://other.example", legacy_issuer="https://other.example")
    problem = check(leaf, root_of(ca))
    assert problem.reason is FailureReason.ISSUER_MISMATCH
    assert "https://other.example" in problem.message


@pytest.mark.parametrize(
    ("issuer", "legacy", "expected"),
    [
        (OIDC_ISSUER, None, OIDC_ISSUER),  # only the v2 extension
        (None, OIDC_ISSUER, OIDC_ISSUER),  # only the legacy one (older Fulcio)
        (OIDC_ISSUER, "https://legacy.example", OIDC_ISSUER),  # the v2 extension wins
        (None, None, None),
        ("https://" + "long." * 40 + "example", None, "https://" + "long." * 40 + "example"),  # long-form length
    ],
)
def test_the_issuer_extension_v2_first_then_legacy(
    issuer: str | None, legacy: str | None, expected: str | None
) -> None:
    leaf = TestCA.new().leaf(ec_key().public_key(), issuer=issuer, legacy_issuer=legacy)
    assert fulcio_issuer(leaf) == expected


def test_no_issuer_extension_is_an_issuer_mismatch() -> None:
    ca = TestCA.new()
    problem = check(ca.leaf(ec_key().public_key(), issuer=None, legacy_issuer=None), root_of(ca))
    assert problem.reason is FailureReason.ISSUER_MISMATCH
    assert "none" in problem.message


def test_subject_is_an_exact_email_or_uri_match() -> None:
    ca = TestCA.new()
    root = root_of(ca)
    leaf = ca.leaf(ec_key().public_key(), email=None, uri=URI)
    assert subject_names(leaf) == [URI]
    assert check(leaf, root, identity=Identity(OIDC_ISSUER, URI)) is None
    for wrong in (EMAIL, URI[:-1], URI.upper(), ".*"):
        problem = check(leaf, root, identity=Identity(OIDC_ISSUER, wrong))
        assert problem.reason is FailureReason.IDENTITY_MISMATCH, wrong


def test_no_san_is_an_identity_mismatch() -> None:
    ca = TestCA.new()
    problem = check(ca.leaf(ec_key().public_key(), email=None, uri=None), root_of(ca))
    assert problem.reason is FailureReason.IDENTITY_MISMATCH
    assert "none" in problem.message


# -- signatures with certificates -------------------------------------------------------------------


def policy(root: TrustedRoot, *, now: dt.datetime = NOW, identity: Identity = IDENTITY) -> KeylessPolicy:
    return KeylessPolicy(root=root, identity=identity, now=now)


def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def test_v2_keyless_signature_verifies_with_the_certificate_key_and_ends_with_the_certificate() -> None:
    ca, key = TestCA.new(), ec_key()
    leaf = ca.leaf(key.public_key())
    payload = simple_signing_payload()
    result = check_simple_signing(
        payload=payload,
        signature_b64=b64(sign(key, payload)),
        signer=policy(root_of(ca)),
        certificate=pem(leaf),
        digest=DIGEST,
        require_tlog=False,
    )
    assert result.ok, result
    assert result.valid_until == leaf.not_valid_after_utc


def test_v2_keyless_failures_each_have_their_reason() -> None:
    ca, key = TestCA.new(), ec_key()
    leaf = ca.leaf(key.public_key())
    payload = simple_signing_payload()
    good = b64(sign(key, payload))

    def run(**kw: Any) -> Any:
        args: dict[str, Any] = {
            "payload": payload,
            "signature_b64": good,
            "signer": policy(root_of(ca)),
            "certificate": pem(leaf),
            "digest": DIGEST,
            "require_tlog": False,
        }
        return check_simple_signing(**(args | kw))

    assert run(certificate=None).reason is FailureReason.CERTIFICATE_UNTRUSTED
    assert run(certificate="garbage").reason is FailureReason.CERTIFICATE_UNTRUSTED
    assert run(signature_b64=b64(sign(ec_key(), payload))).reason is FailureReason.SIGNATURE_MISMATCH
    assert run(digest=OTHER_DIGEST).reason is FailureReason.CLAIMS_MISMATCH
    assert run(signer=policy(root_of(TestCA.new()))).reason is FailureReason.CERTIFICATE_UNTRUSTED
    assert run(signer=policy(root_of(ca), now=NOW + dt.timedelta(hours=1))).reason is FailureReason.CERTIFICATE_EXPIRED
    wrong_subject = policy(root_of(ca), identity=Identity(OIDC_ISSUER, "someone@else"))
    assert run(signer=wrong_subject).reason is FailureReason.IDENTITY_MISMATCH
    wrong_issuer = policy(root_of(ca), identity=Identity("https://accounts.google.com", EMAIL))
    assert run(signer=wrong_issuer).reason is FailureReason.ISSUER_MISMATCH
    missing = run(require_tlog=True)
    assert missing.reason is FailureReason.TLOG_ENTRY_MISSING
    assert "Rekor entry's time" in missing.message


def test_v2_keyless_with_a_rekor_entry_checks_the_certificate_at_the_integrated_time() -> None:
    ca, key, rekor = TestCA.new(), ec_key(), TestRekor()
    signed = NOW - dt.timedelta(days=3)
    leaf = ca.leaf(key.public_key(), not_before=signed - dt.timedelta(minutes=1))  # expired for days now
    payload = simple_signing_payload()
    signature = sign(key, payload)
    root = root_of(ca, rekor=rekor)

    def run(entry: dict[str, Any], *, cert: x509.Certificate = leaf) -> Any:
        return check_simple_signing(
            payload=payload,
            signature_b64=b64(signature),
            signer=policy(root),
            certificate=pem(cert),
            digest=DIGEST,
            rekor_bundle=json.dumps(entry),
            require_tlog=True,
            rekor_keys=root.rekor_keys,
        )

    at = int(signed.timestamp())
    ok = run(rekor.hashedrekord(payload=payload, signature=signature, cert=leaf, integrated_time=at))
    assert ok.ok, ok
    assert ok.tlog_checked
    assert ok.valid_until is None  # the log fixed the time: the verdict does not end with the certificate

    late = rekor.hashedrekord(payload=payload, signature=signature, cert=leaf, integrated_time=at + 3600)
    assert run(late).reason is FailureReason.CERTIFICATE_EXPIRED

    other_cert = ca.leaf(key.public_key(), not_before=signed - dt.timedelta(minutes=1))
    swapped = rekor.hashedrekord(payload=payload, signature=signature, cert=other_cert, integrated_time=at)
    result = run(swapped)
    assert result.reason is FailureReason.TLOG_UNVERIFIABLE
    assert "another signing certificate" in result.message

    forged = rekor.hashedrekord(payload=payload, signature=signature, cert=leaf, integrated_time=at)
    forged["Payload"]["integratedTime"] = at + 60  # the SET no longer covers it
    assert run(forged).reason is FailureReason.TLOG_UNVERIFIABLE

    untrusted_log = TestRekor().hashedrekord(payload=payload, signature=signature, cert=leaf, integrated_time=at)
    assert run(untrusted_log).reason is FailureReason.TLOG_UNVERIFIABLE


def keyless_bundle(
    key: ec.EllipticCurvePrivateKey,
    leaf: x509.Certificate,
    *,
    chain_form: bool = False,
    tlog: TestRekor | None = None,
    integrated_time: int = 0,
) -> bytes:
    payload = statement()
    signature = sign(key, pae("application/vnd.in-toto+json", payload))
    leaf_b64 = b64(leaf.public_bytes(serialization.Encoding.DER))
    material: dict[str, Any] = (
        {"x509CertificateChain": {"certificates": [{"rawBytes": leaf_b64}]}}
        if chain_form
        else {"certificate": {"rawBytes": leaf_b64}}
    )
    if tlog is not None:
        body_doc = {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
                "signatures": [{"signature": b64(signature), "verifier": b64(pem(leaf).encode())}],
            },
        }
        body = b64(json.dumps(body_doc).encode())
        material["tlogEntries"] = [
            {
                "logIndex": "3",
                "logId": {"keyId": b64(tlog.log_id)},
                "integratedTime": str(integrated_time),
                "inclusionPromise": {
                    "signedEntryTimestamp": b64(tlog.set_for(body=body, integrated_time=integrated_time, log_index=3))
                },
                "canonicalizedBody": body,
            }
        ]
    doc = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": material,
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": "application/vnd.in-toto+json",
            "signatures": [{"sig": b64(signature)}],
        },
    }
    return json.dumps(doc).encode()


@pytest.mark.parametrize("chain_form", [False, True])
def test_bundle_keyless_certificate_forms(chain_form: bool) -> None:
    ca, key = TestCA.new(), ec_key()
    leaf = ca.leaf(key.public_key())
    result = check_bundle(
        bundle=keyless_bundle(key, leaf, chain_form=chain_form),
        signer=policy(root_of(ca)),
        digest=DIGEST,
        require_tlog=False,
    )
    assert result.ok, result


def test_bundle_keyless_with_a_dsse_rekor_entry() -> None:
    ca, key, rekor = TestCA.new(), ec_key(), TestRekor()
    signed = NOW - dt.timedelta(days=1)
    leaf = ca.leaf(key.public_key(), not_before=signed - dt.timedelta(minutes=2))
    root = root_of(ca, rekor=rekor)
    data = keyless_bundle(key, leaf, tlog=rekor, integrated_time=int(signed.timestamp()))
    result = check_bundle(
        bundle=data, signer=policy(root), digest=DIGEST, require_tlog=True, rekor_keys=root.rekor_keys
    )
    assert result.ok, result
    assert result.tlog_checked
    # Without the log the certificate is checked now, a day after it expired.
    now_check = check_bundle(bundle=data, signer=policy(root), digest=DIGEST, require_tlog=False)
    assert now_check.reason is FailureReason.CERTIFICATE_EXPIRED
    assert "ignoreTlog is true" in now_check.message


def test_bundle_without_a_certificate_is_untrusted_for_keyless() -> None:
    ca, key = TestCA.new(), ec_key()
    doc = json.loads(keyless_bundle(key, ca.leaf(key.public_key())))
    doc["verificationMaterial"] = {"publicKey": {"hint": "x"}}
    result = check_bundle(
        bundle=json.dumps(doc).encode(), signer=policy(root_of(ca)), digest=DIGEST, require_tlog=False
    )
    assert result.reason is FailureReason.CERTIFICATE_UNTRUSTED


# -- the verifier ------------------------------------------------------------------------------------


def no_network(request: httpx2.Request) -> httpx2.Response:
    raise AssertionError(f"unexpected request {request.url}")


async def test_keyless_with_a_malformed_trusted_root_fails_before_any_registry_call() -> None:
    config = ImageVerificationConfig.model_validate({"enabled": True, "issuer": OIDC_ISSUER, "subject": EMAIL})
    async with ImageVerifier(transport=httpx2.MockTransport(no_network)) as verifier:
        bad = await verifier.verify("quay.io/a:v1", config, trusted_root="{not json")
        empty = await verifier.verify("quay.io/a:v1", config, trusted_root=json.dumps(trusted_root([], [])))
    for verdict in (bad, empty):
        assert isinstance(verdict, Failed), verdict
        assert verdict.reason is FailureReason.INVALID_CONFIGURATION
        assert "trustedRootConfigMapRef" in verdict.message


def keyless_registry(ca: TestCA, key: ec.EllipticCurvePrivateKey) -> tuple[httpx2.MockTransport, x509.Certificate]:
    """A registry holding quay.io/team/app:v1 with one v2 keyless signature by a leaf of ``ca``; and the leaf."""
    leaf = ca.leaf(key.public_key())
    manifest_body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}).encode()
    digest = "sha256:" + hashlib.sha256(manifest_body).hexdigest()
    payload = simple_signing_payload(digest)
    layer_digest = "sha256:" + hashlib.sha256(payload).hexdigest()
    sig_manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "layers": [
                {
                    "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                    "digest": layer_digest,
                    "size": len(payload),
                    "annotations": {
                        "dev.cosignproject.cosign/signature": b64(sign(key, payload)),
                        "dev.sigstore.cosign/certificate": pem(leaf),
                    },
                }
            ],
        }
    ).encode()
    routes = {
        "/v2/team/app/manifests/v1": manifest_body,
        f"/v2/team/app/manifests/{digest.replace(':', '-')}.sig": sig_manifest,
        f"/v2/team/app/blobs/{layer_digest}": payload,
    }

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = routes.get(request.url.path)
        if body is None:
            return httpx2.Response(404)
        return httpx2.Response(
            200, content=body, headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
        )

    return httpx2.MockTransport(handler), leaf


async def test_a_keyless_verdict_checked_at_the_current_time_is_not_reused_after_the_certificate_ends() -> None:
    ca, key = TestCA.new(), ec_key()
    wall = [NOW.timestamp()]
    config = ImageVerificationConfig.model_validate(
        {"enabled": True, "issuer": OIDC_ISSUER, "subject": EMAIL, "ignoreTlog": True}
    )
    root = json.dumps(trusted_root([ca.authority()], []))
    transport, leaf = keyless_registry(ca, key)
    async with ImageVerifier(transport=transport, wall_clock=lambda: wall[0]) as verifier:
        first = await verifier.verify("quay.io/team/app:v1", config, trusted_root=root)
        assert isinstance(first, Verified), first
        assert first.signer.startswith(f"oidc {OIDC_ISSUER}|{EMAIL}, trusted root: the trusted root of ")
        again = await verifier.verify("quay.io/team/app:v1", config, trusted_root=root)
        assert isinstance(again, Verified)
        assert again.cached
        wall[0] = leaf.not_valid_after_utc.timestamp() + 1
        later = await verifier.verify("quay.io/team/app:v1", config, trusted_root=root)
    assert isinstance(later, Failed), later
    assert later.reason is FailureReason.CERTIFICATE_EXPIRED


async def test_keyless_without_a_config_map_uses_the_embedded_root_and_names_it() -> None:
    """The reference's keyless samples have no trusted-root ConfigMap. Without one the verifier
    checks against its embedded root (here a stand-in made from the test CA) and says which root it used;
    before this change the verdict was InvalidConfiguration without a registry call."""
    ca, key = TestCA.new(), ec_key()
    config = ImageVerificationConfig.model_validate(
        {"enabled": True, "issuer": OIDC_ISSUER, "subject": EMAIL, "ignoreTlog": True}
    )
    embedded = EmbeddedRoot(data=json.dumps(trusted_root([ca.authority()], [])).encode(), newest_key_date="2026-01-01")
    async with ImageVerifier(
        transport=keyless_registry(ca, key)[0], wall_clock=lambda: NOW.timestamp(), default_trusted_root=embedded
    ) as verifier:
        verdict = await verifier.verify("quay.io/team/app:v1", config)
    assert isinstance(verdict, Verified), verdict
    assert verdict.signer == f"oidc {OIDC_ISSUER}|{EMAIL}, trusted root: {embedded.label}"
    assert "newest key valid from 2026-01-01" in decide(verdict, "Block").condition.message  # type: ignore[union-attr]


async def test_keyless_without_a_config_map_checks_the_public_good_root_by_default() -> None:
    """The default verifier trusts the public-good root: a certificate of another CA is untrusted (a
    verdict about the signature), not a configuration error."""
    ca, key = TestCA.new(), ec_key()
    config = ImageVerificationConfig.model_validate(
        {"enabled": True, "issuer": OIDC_ISSUER, "subject": EMAIL, "ignoreTlog": True}
    )
    async with ImageVerifier(transport=keyless_registry(ca, key)[0], wall_clock=lambda: NOW.timestamp()) as verifier:
        verdict = await verifier.verify("quay.io/team/app:v1", config)
    assert isinstance(verdict, Failed), verdict
    assert verdict.reason is FailureReason.CERTIFICATE_UNTRUSTED


def test_a_certificate_with_malformed_extensions_is_no_certificate_not_an_exception() -> None:
    key = ec_key()
    ca = TestCA.new()
    issuing_key, issuing = ca.issuing
    broken = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(issuing.subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - dt.timedelta(minutes=1))
        .not_valid_after(NOW + dt.timedelta(minutes=5))
        # A known OID with bytes that are not its DER: parsing the extensions raises.
        .add_extension(x509.UnrecognizedExtension(x509.oid.ExtensionOID.SUBJECT_ALTERNATIVE_NAME, b"\x01\x02"), False)
        .sign(issuing_key, hashes.SHA384())
    )
    payload = simple_signing_payload()
    result = check_simple_signing(
        payload=payload,
        signature_b64=b64(sign(key, payload)),
        signer=policy(root_of(ca)),
        certificate=pem(broken),
        digest=DIGEST,
        require_tlog=False,
    )
    assert result.reason is FailureReason.CERTIFICATE_UNTRUSTED
