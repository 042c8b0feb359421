"""Keyless verification against the real loopback registry, with signatures made by the real cosign CLI, offline.

No Fulcio, Rekor or TUF is reachable, so the test owns them: a test CA (root + intermediate) issues a
Fulcio-style leaf (issuer extensions, email SAN, code signing) for a cosign key, and cosign signs with
``--certificate``/``--certificate-chain`` (v2 and v3, classic `.sig` and the v3 Sigstore bundle). A test
Rekor key signs entries: cosign v2 attaches one with ``attach signature --rekor-response``; a v3 bundle
gets one through the registry API. The oracle is ``cosign verify --trusted-root`` with the same
``trusted_root.json`` the operator reads.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from openbao_operator.api.workload import ImageVerificationConfig
from openbao_operator.imagesig import FailureReason, ImageVerifier, decide
from tests.integration.test_imagesig_registry import RawRegistry, expect_failed, expect_verified, flip_b64, tag_of
from tests.peers.registry import Cosign, KeyPair, Registry, push_tiny_image
from tests.unit.imagesig.fulcio import EMAIL, OIDC_ISSUER, TestCA, TestRekor, b64, pem, trusted_root, wall_clock

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

Format = Literal["v2", "v3-sig", "v3-bundle"]
FORMATS: list[Format] = ["v2", "v3-sig", "v3-bundle"]


class Pki:
    """The test Fulcio and Rekor of one test, and the trusted_root.json naming them (also on disk for cosign)."""

    def __init__(self, workdir: Path, *, name: str = "test-fulcio") -> None:
        self.ca = TestCA.new(name, clock=wall_clock)
        self.rekor = TestRekor()
        self.root_text = json.dumps(trusted_root([self.ca.authority()], [self.rekor.tlog()]))
        self.root_path = workdir / f"{name}-trusted_root.json"
        self.root_path.write_text(self.root_text)
        self.chain_path = workdir / f"{name}-chain.pem"
        self.chain_path.write_text(self.ca.chain_pem)

    def leaf_for(self, key: KeyPair, **kw: Any) -> tuple[x509.Certificate, Path]:
        public = serialization.load_pem_public_key(key.public.read_bytes())
        assert isinstance(public, ec.EllipticCurvePublicKey)
        leaf = self.ca.leaf(public, **kw)
        path = key.public.with_suffix(".crt")
        path.write_text(pem(leaf))
        return leaf, path


@pytest.fixture
async def verifier() -> AsyncIterator[ImageVerifier]:
    v = ImageVerifier()
    try:
        yield v
    finally:
        await v.aclose()


@pytest.fixture
def cosign_for(cosign: Cosign, cosign3: Cosign) -> Callable[[Format], Cosign]:
    return lambda fmt: cosign if fmt == "v2" else cosign3


def keyless(*, subject: str = EMAIL, issuer: str = OIDC_ISSUER, ignore_tlog: bool = True) -> ImageVerificationConfig:
    return ImageVerificationConfig.model_validate(
        {
            "enabled": True,
            "issuer": issuer,
            "subject": subject,
            "ignoreTlog": ignore_tlog,
            "trustedRootConfigMapRef": {"name": "sigstore-root"},
        }
    )


def sign_keyless(cli: Cosign, ref: str, pki: Pki, fmt: Format, *, name: str) -> tuple[KeyPair, x509.Certificate]:
    key = cli.generate_key_pair(name=f"keyless-{name}")  # the cosign workdir is shared by the session
    leaf, leaf_path = pki.leaf_for(key)
    cli.sign_with_certificate(ref, key=key, certificate=leaf_path, chain=pki.chain_path, bundle=fmt == "v3-bundle")
    return key, leaf


def oracle(cli: Cosign, ref: str, pki: Pki, fmt: Format, *, ignore_tlog: bool = True, **identity: str) -> bool:
    res = cli.verify_identity(
        ref,
        trusted_root=pki.root_path,
        subject=identity.get("subject", EMAIL),
        issuer=identity.get("issuer", OIDC_ISSUER),
        ignore_tlog=ignore_tlog,
        bundle=fmt == "v3-bundle",
    )
    return res.returncode == 0


# -- accepted ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_keyless_signed_image_verifies_and_is_pinned(
    registry: Registry, cosign_for: Callable[[Format], Cosign], verifier: ImageVerifier, tmp_path: Path, fmt: Format
) -> None:
    cli = cosign_for(fmt)
    pki = Pki(tmp_path)
    ref = push_tiny_image(registry=registry, repository=f"keyless/ok-{fmt}", tag="v1", workdir=tmp_path, log=cli.log)
    sign_keyless(cli, ref, pki, fmt, name=f"ok-{fmt}")
    assert oracle(cli, ref, pki, fmt)

    verdict = await verifier.verify(tag_of(ref, "v1"), keyless(), trusted_root=pki.root_text)

    verified = expect_verified(verdict)
    assert verified.image == ref
    root_id = "sha256:" + hashlib.sha256(pki.root_text.encode()).hexdigest()
    assert verified.signer == (
        f"oidc {OIDC_ISSUER}|{EMAIL}, trusted root: the trusted root of "
        f"spec.imageVerification.trustedRootConfigMapRef ({root_id})"
    )
    assert verified.signature_format == ("sigstore-bundle" if fmt == "v3-bundle" else "cosign-v2")
    decision = decide(verdict, "Block")
    assert decision.apply
    assert decision.image == ref
    before = verifier.registry_requests
    again = expect_verified(await verifier.verify(tag_of(ref, "v1"), keyless(), trusted_root=pki.root_text))
    assert again.cached
    assert verifier.registry_requests == before
    # Another trusted root never reuses the verdict.
    other = Pki(tmp_path, name="other-fulcio")
    expect_failed(
        await verifier.verify(tag_of(ref, "v1"), keyless(), trusted_root=other.root_text),
        FailureReason.CERTIFICATE_UNTRUSTED,
    )


# -- refused, each with its reason ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_keyless_identity_issuer_and_trust_failures(
    registry: Registry, cosign_for: Callable[[Format], Cosign], verifier: ImageVerifier, tmp_path: Path, fmt: Format
) -> None:
    cli = cosign_for(fmt)
    pki = Pki(tmp_path)
    ref = push_tiny_image(registry=registry, repository=f"keyless/bad-{fmt}", tag="v1", workdir=tmp_path, log=cli.log)
    sign_keyless(cli, ref, pki, fmt, name=f"bad-{fmt}")

    wrong_subject = await verifier.verify(ref, keyless(subject="someone@else.example"), trusted_root=pki.root_text)
    failed = expect_failed(wrong_subject, FailureReason.IDENTITY_MISMATCH)
    assert EMAIL in failed.message
    assert not oracle(cli, ref, pki, fmt, subject="someone@else.example")

    wrong_issuer = await verifier.verify(ref, keyless(issuer="https://accounts.google.com"), trusted_root=pki.root_text)
    expect_failed(wrong_issuer, FailureReason.ISSUER_MISMATCH)
    assert not oracle(cli, ref, pki, fmt, issuer="https://accounts.google.com")

    untrusted = Pki(tmp_path, name="untrusted-fulcio")
    expect_failed(
        await verifier.verify(ref, keyless(), trusted_root=untrusted.root_text), FailureReason.CERTIFICATE_UNTRUSTED
    )
    assert not oracle(cli, ref, untrusted, fmt)

    # The same image verifies with the right root and identity: each failure above was that one check.
    expect_verified(await verifier.verify(ref, keyless(), trusted_root=pki.root_text))


@pytest.mark.parametrize("fmt", ["v2", "v3-bundle"])
async def test_keyless_corrupted_signature_fails(
    registry: Registry, cosign_for: Callable[[Format], Cosign], verifier: ImageVerifier, tmp_path: Path, fmt: Format
) -> None:
    cli = cosign_for(fmt)
    pki = Pki(tmp_path)
    repo = f"keyless/corrupt-{fmt}"
    ref = push_tiny_image(registry=registry, repository=repo, tag="v1", workdir=tmp_path, log=cli.log)
    sign_keyless(cli, ref, pki, fmt, name=f"corrupt-{fmt}")
    raw = RawRegistry(registry.host)
    digest_tag = ref.split("@", 1)[1].replace(":", "-")
    if fmt == "v2":
        doc, media_type = raw.manifest(repo, digest_tag + ".sig")
        annotations = doc["layers"][0]["annotations"]
        annotations["dev.cosignproject.cosign/signature"] = flip_b64(annotations["dev.cosignproject.cosign/signature"])
        raw.put_manifest(repo, digest_tag + ".sig", doc, media_type)
    else:
        rewrite_bundle(raw, repo, digest_tag, lambda b: _flip_dsse(b))
    assert not oracle(cli, ref, pki, fmt)

    expect_failed(await verifier.verify(ref, keyless(), trusted_root=pki.root_text), FailureReason.SIGNATURE_MISMATCH)


def _flip_dsse(bundle: dict[str, Any]) -> None:
    sig = bundle["dsseEnvelope"]["signatures"][0]
    sig["sig"] = flip_b64(sig["sig"])


def rewrite_bundle(raw: RawRegistry, repo: str, digest_tag: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit the bundle of the (only) referrer in the referrers tag schema index, as a registry user can."""
    index, index_type = raw.manifest(repo, digest_tag)
    entry = index["manifests"][0]
    manifest, manifest_type = raw.manifest(repo, entry["digest"])
    layer = manifest["layers"][0]
    bundle = json.loads(raw.blob(repo, layer["digest"]))
    change(bundle)
    layer["digest"], layer["size"] = raw.put_blob(repo, json.dumps(bundle).encode())
    entry["digest"], entry["size"] = raw.put_manifest(
        repo, f"rewritten-{layer['digest'][7:19]}", manifest, manifest_type
    )
    raw.put_manifest(repo, digest_tag, index, index_type)


# -- the transparency log ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_keyless_with_the_log_required_and_no_rekor_entry_fails_closed(
    registry: Registry, cosign_for: Callable[[Format], Cosign], verifier: ImageVerifier, tmp_path: Path, fmt: Format
) -> None:
    cli = cosign_for(fmt)
    pki = Pki(tmp_path)
    ref = push_tiny_image(registry=registry, repository=f"keyless/nolog-{fmt}", tag="v1", workdir=tmp_path, log=cli.log)
    sign_keyless(cli, ref, pki, fmt, name=f"nolog-{fmt}")
    assert not oracle(cli, ref, pki, fmt, ignore_tlog=False)

    verdict = await verifier.verify(ref, keyless(ignore_tlog=False), trusted_root=pki.root_text)

    failed = expect_failed(verdict, FailureReason.TLOG_ENTRY_MISSING)
    assert "Rekor entry" in failed.message
    assert not decide(verdict, "Block").apply


async def test_keyless_v2_with_a_rekor_entry_attached_by_cosign_is_checked_at_the_integrated_time(
    registry: Registry, cosign: Cosign, verifier: ImageVerifier, tmp_path: Path
) -> None:
    """The certificate expired long ago; the Rekor entry proves the signature was made while it was valid."""
    pki = Pki(tmp_path)
    repo = "keyless/rekor-v2"
    ref = push_tiny_image(registry=registry, repository=repo, tag="v1", workdir=tmp_path, log=cosign.log)
    key = cosign.generate_key_pair(name="keyless-rekor-v2")
    signed_at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)
    leaf, leaf_path = pki.leaf_for(key, not_before=signed_at - dt.timedelta(minutes=2))
    payload_path = tmp_path / "payload.json"
    payload_path.write_bytes(cosign.generate_payload(ref))
    signature_b64 = cosign.sign_blob(payload_path, key=key)
    signature_path = tmp_path / "payload.sig"
    signature_path.write_text(signature_b64)
    rekor_bundle = pki.rekor.hashedrekord(
        payload=payload_path.read_bytes(),
        signature=base64.b64decode(signature_b64),
        cert=leaf,
        integrated_time=int(signed_at.timestamp()),
    )
    response = tmp_path / "rekor-response.json"
    response.write_text(json.dumps({"base64Signature": signature_b64, "cert": pem(leaf), "rekorBundle": rekor_bundle}))
    cosign.attach_signature(
        ref,
        payload=payload_path,
        signature=signature_path,
        certificate=leaf_path,
        chain=pki.chain_path,
        rekor_response=response,
    )
    raw = RawRegistry(registry.host)
    sig_doc, _ = raw.manifest(repo, ref.split("@", 1)[1].replace(":", "-") + ".sig")
    assert "dev.sigstore.cosign/bundle" in sig_doc["layers"][0]["annotations"]  # cosign put our entry there
    assert oracle(cosign, ref, pki, "v2", ignore_tlog=False)

    with_log = await verifier.verify(ref, keyless(ignore_tlog=False), trusted_root=pki.root_text)
    expect_verified(with_log)

    # Without the log the only time left is now, two days after the certificate ended.
    now_only = await verifier.verify(ref, keyless(ignore_tlog=True), trusted_root=pki.root_text)
    failed = expect_failed(now_only, FailureReason.CERTIFICATE_EXPIRED)
    assert "ignoreTlog is true" in failed.message

    # A trusted root without that Rekor key cannot vouch for the time.
    no_rekor = json.dumps(trusted_root([pki.ca.authority()], [TestRekor().tlog()]))
    expect_failed(
        await verifier.verify(ref, keyless(ignore_tlog=False), trusted_root=no_rekor), FailureReason.TLOG_UNVERIFIABLE
    )


async def test_keyless_v3_bundle_with_a_rekor_entry_verifies_with_the_log_required(
    registry: Registry, cosign3: Cosign, verifier: ImageVerifier, tmp_path: Path
) -> None:
    """cosign v3 signs the bundle; the test Rekor's entry (a dsse body naming that signature and certificate,
    with its SET) is added through the registry API, as cosign cannot attach one offline to a v0.3 bundle
    without an inclusion proof."""
    pki = Pki(tmp_path)
    repo = "keyless/rekor-v3"
    ref = push_tiny_image(registry=registry, repository=repo, tag="v1", workdir=tmp_path, log=cosign3.log)
    _, leaf = sign_keyless(cosign3, ref, pki, "v3-bundle", name="rekor-v3")
    integrated = int(leaf.not_valid_before_utc.timestamp()) + 60

    def add_entry(bundle: dict[str, Any]) -> None:
        envelope = bundle["dsseEnvelope"]
        payload = base64.b64decode(envelope["payload"])
        body_doc = {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
                "signatures": [{"signature": envelope["signatures"][0]["sig"], "verifier": b64(pem(leaf).encode())}],
            },
        }
        body = b64(json.dumps(body_doc, separators=(",", ":")).encode())
        bundle["verificationMaterial"]["tlogEntries"] = [
            {
                "logIndex": "11",
                "logId": {"keyId": b64(pki.rekor.log_id)},
                "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                "integratedTime": str(integrated),
                "inclusionPromise": {
                    "signedEntryTimestamp": b64(pki.rekor.set_for(body=body, integrated_time=integrated, log_index=11))
                },
                "canonicalizedBody": body,
            }
        ]

    expect_failed(
        await verifier.verify(ref, keyless(ignore_tlog=False), trusted_root=pki.root_text),
        FailureReason.TLOG_ENTRY_MISSING,
    )
    rewrite_bundle(RawRegistry(registry.host), repo, ref.split("@", 1)[1].replace(":", "-"), add_entry)

    verdict = await verifier.verify(ref, keyless(ignore_tlog=False), trusted_root=pki.root_text)

    assert expect_verified(verdict).signature_format == "sigstore-bundle"
