"""imagesig against the real loopback registry, with signatures made by the real cosign CLI (v2 and v3).

The oracle is cosign itself: every image the verifier accepts, `cosign verify` accepts too, and every
corruption made here is one cosign rejects as well. Corruptions are pushed through the registry's own
upload API, so the registry checks their digests exactly as it would for an attacker's push.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal

import httpx2
import pytest

from openbao_operator.api.workload import ImageVerificationConfig
from openbao_operator.imagesig import (
    Failed,
    FailureReason,
    ImageVerifier,
    Verdict,
    Verified,
    decide,
)
from tests.integration.conftest import peer_unavailable
from tests.peers import pins
from tests.peers.procs import run_checked
from tests.peers.registry import (
    Cosign,
    KeyPair,
    Registry,
    push_tiny_image,
    start_registry,
    write_docker_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

Format = Literal["v2", "v3-sig", "v3-bundle"]
FORMATS: list[Format] = ["v2", "v3-sig", "v3-bundle"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def verifier(clock: FakeClock) -> AsyncIterator[ImageVerifier]:
    v = ImageVerifier(clock=clock)
    try:
        yield v
    finally:
        await v.aclose()


@pytest.fixture
def cosign_for(cosign: Cosign, cosign3: Cosign) -> Callable[[Format], Cosign]:
    return lambda fmt: cosign if fmt == "v2" else cosign3


def cfg(key: KeyPair, **extra: Any) -> ImageVerificationConfig:
    return ImageVerificationConfig.model_validate(
        {"enabled": True, "publicKey": key.public.read_text(), "ignoreTlog": True, **extra}
    )


def sign(cosign_cli: Cosign, ref: str, key: KeyPair, fmt: Format) -> None:
    cosign_cli.sign(ref, key=key, bundle=fmt == "v3-bundle")


def tag_of(digest_ref: str, tag: str) -> str:
    return digest_ref.split("@", 1)[0] + ":" + tag


def oracle(cosign_cli: Cosign, ref: str, key: KeyPair, fmt: Format) -> bool:
    """`cosign verify` (the matching major and format) accepts ``ref`` with ``key``."""
    argv = [cosign_cli.binary, "verify", f"--key={key.public}", "--insecure-ignore-tlog=true"]
    if cosign_cli.major >= 3:
        argv.append(f"--new-bundle-format={'true' if fmt == 'v3-bundle' else 'false'}")
    res = run_checked([*argv, ref], env=cosign_cli.env, log=cosign_cli.log, timeout=120, check=False)
    return res.returncode == 0


class RawRegistry:
    """The registry's push/pull API, for corruptions a real attacker could push."""

    def __init__(self, host: str) -> None:
        self.base = f"http://{host}/v2"
        self.http = httpx2.Client(timeout=10, trust_env=False)

    def manifest(self, repo: str, ref: str) -> tuple[dict[str, Any], str]:
        accept = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json"
        r = self.http.get(f"{self.base}/{repo}/manifests/{ref}", headers={"Accept": accept})
        r.raise_for_status()
        return json.loads(r.content), r.headers["content-type"]

    def put_manifest(self, repo: str, ref: str, doc: dict[str, Any], media_type: str) -> tuple[str, int]:
        body = json.dumps(doc).encode()
        r = self.http.put(f"{self.base}/{repo}/manifests/{ref}", content=body, headers={"Content-Type": media_type})
        assert r.status_code == 201, r.text
        return "sha256:" + hashlib.sha256(body).hexdigest(), len(body)

    def blob(self, repo: str, digest: str) -> bytes:
        r = self.http.get(f"{self.base}/{repo}/blobs/{digest}", follow_redirects=True)
        r.raise_for_status()
        return r.content

    def put_blob(self, repo: str, data: bytes) -> tuple[str, int]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        r = self.http.post(f"{self.base}/{repo}/blobs/uploads/")
        assert r.status_code == 202, r.text
        location = r.headers["location"]
        url = location if location.startswith("http") else f"http://{self.base.split('/')[2]}{location}"
        sep = "&" if "?" in url else "?"
        r = self.http.put(
            f"{url}{sep}digest={digest}", content=data, headers={"Content-Type": "application/octet-stream"}
        )
        assert r.status_code == 201, r.text
        return digest, len(data)


def expect_failed(verdict: Verdict, reason: FailureReason) -> Failed:
    assert isinstance(verdict, Failed), verdict
    assert verdict.reason is reason, verdict
    return verdict


def expect_verified(verdict: Verdict) -> Verified:
    assert isinstance(verdict, Verified), verdict
    return verdict


def flip_b64(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[len(raw) // 2] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


# -- the happy path, per format --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_signed_image_verifies_and_is_pinned_by_digest(
    registry: Registry,
    cosign_for: Callable[[Format], Cosign],
    verifier: ImageVerifier,
    tmp_path: Path,
    fmt: Format,
) -> None:
    cli = cosign_for(fmt)
    ref = push_tiny_image(registry=registry, repository=f"sig/ok-{fmt}", tag="v1", workdir=tmp_path, log=cli.log)
    key = cli.generate_key_pair(name=f"ok-{fmt}")
    sign(cli, ref, key, fmt)
    assert oracle(cli, ref, key, fmt)

    verdict = await verifier.verify(tag_of(ref, "v1"), cfg(key))

    assert isinstance(verdict, Verified), verdict
    assert verdict.image == ref  # host/repo@sha256:..., the tag dropped
    assert verdict.signature_format == ("sigstore-bundle" if fmt == "v3-bundle" else "cosign-v2")
    decision = decide(verdict, "Block")
    assert decision.apply
    assert decision.image == ref
    assert decision.verified_image == ref
    assert decision.condition is not None
    assert decision.condition.status == "True"

    # The second reconcile costs no registry call: tag and verdict come from the caches.
    before = verifier.registry_requests
    again = await verifier.verify(tag_of(ref, "v1"), cfg(key))
    assert isinstance(again, Verified)
    assert again.cached
    assert again.image == ref
    assert verifier.registry_requests == before


async def test_v3_bundle_uses_the_referrers_tag_schema_on_a_registry_without_the_api(
    registry: Registry, cosign3: Cosign, verifier: ImageVerifier, tmp_path: Path
) -> None:
    """distribution 2.8 answers 404 to /referrers; the bundle is found through the `sha256-<hex>` index."""
    ref = push_tiny_image(registry=registry, repository="sig/schema", tag="v1", workdir=tmp_path, log=cosign3.log)
    key = cosign3.generate_key_pair(name="schema")
    sign(cosign3, ref, key, "v3-bundle")
    digest = ref.split("@", 1)[1]
    raw = RawRegistry(registry.host)
    assert raw.http.get(f"{raw.base}/sig/schema/referrers/{digest}").status_code == 404
    index, _ = raw.manifest("sig/schema", digest.replace(":", "-"))
    assert index["manifests"][0]["artifactType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    verdict = await verifier.verify(ref, cfg(key))
    assert isinstance(verdict, Verified)
    assert verdict.signature_format == "sigstore-bundle"


# -- failures ----------------------------------------------------------------------------------------


async def test_unsigned_image_is_blocked_under_block_and_warned_under_warn(
    registry: Registry, cosign: Cosign, verifier: ImageVerifier, tmp_path: Path
) -> None:
    ref = push_tiny_image(registry=registry, repository="sig/unsigned", tag="v1", workdir=tmp_path, log=cosign.log)
    key = cosign.generate_key_pair(name="unsigned")
    assert not oracle(cosign, ref, key, "v2")

    verdict = await verifier.verify(tag_of(ref, "v1"), cfg(key))

    verdict = expect_failed(verdict, FailureReason.NO_SIGNATURES)
    assert verdict.digest == ref.split("@", 1)[1]
    block = decide(verdict, "Block")
    assert not block.apply
    assert block.image is None
    assert block.last_error_reason == "ImageVerificationFailed"
    assert block.event is not None
    assert block.event.type == "Warning"
    assert "NoSignatures" in block.event.message
    warn = decide(verdict, "Warn")
    assert warn.apply
    assert warn.image == ref
    assert warn.verified_image is None
    assert warn.event is not None
    assert warn.event.type == "Warning"
    assert warn.condition is not None
    assert warn.condition.status == "False"


@pytest.mark.parametrize("fmt", FORMATS)
async def test_signature_by_another_key_fails(
    registry: Registry,
    cosign_for: Callable[[Format], Cosign],
    verifier: ImageVerifier,
    tmp_path: Path,
    fmt: Format,
) -> None:
    cli = cosign_for(fmt)
    ref = push_tiny_image(registry=registry, repository=f"sig/other-{fmt}", tag="v1", workdir=tmp_path, log=cli.log)
    signer = cli.generate_key_pair(name=f"signer-{fmt}")
    other = cli.generate_key_pair(name=f"other-{fmt}")
    sign(cli, ref, signer, fmt)
    assert not oracle(cli, ref, other, fmt)

    verdict = await verifier.verify(ref, cfg(other))

    expect_failed(verdict, FailureReason.SIGNATURE_MISMATCH)
    assert not decide(verdict, "Block").apply


async def test_tag_moved_to_an_unsigned_image_fails_once_the_tag_cache_expires(
    registry: Registry, cosign: Cosign, verifier: ImageVerifier, clock: FakeClock, tmp_path: Path
) -> None:
    first = push_tiny_image(registry=registry, repository="sig/moved", tag="v1", workdir=tmp_path, log=cosign.log)
    key = cosign.generate_key_pair(name="moved")
    cosign.sign(first, key=key)
    verified = await verifier.verify(tag_of(first, "v1"), cfg(key))
    assert isinstance(verified, Verified)
    assert verified.image == first

    second = push_tiny_image(
        registry=registry, repository="sig/moved", tag="v1", workdir=tmp_path / "2", log=cosign.log, content=b"evil\n"
    )
    assert second != first

    # Within the tag TTL (5 min) the tag still resolves to the verified digest: nothing unverified yet.
    clock.now += 299
    within = await verifier.verify(tag_of(first, "v1"), cfg(key))
    assert isinstance(within, Verified)
    assert within.image == first

    clock.now += 2
    moved = await verifier.verify(tag_of(first, "v1"), cfg(key))
    moved = expect_failed(moved, FailureReason.NO_SIGNATURES)
    assert moved.pinned == second
    decision = decide(moved, "Block")
    # Block: nothing is applied, so the StatefulSet keeps `first`, the digest status already records.
    assert not decision.apply
    assert decision.image is None
    assert verified.image == first


async def test_signature_copied_from_another_image_fails(
    registry: Registry, cosign: Cosign, verifier: ImageVerifier, tmp_path: Path
) -> None:
    """A valid `.sig` of image A pushed as the `.sig` of image B: the payload names A's digest."""
    a = push_tiny_image(registry=registry, repository="sig/copy", tag="a", workdir=tmp_path, log=cosign.log)
    b = push_tiny_image(registry=registry, repository="sig/copy", tag="b", workdir=tmp_path, log=cosign.log)
    key = cosign.generate_key_pair(name="copy")
    cosign.sign(a, key=key)
    raw = RawRegistry(registry.host)
    a_sig = a.split("@", 1)[1].replace(":", "-") + ".sig"
    b_sig = b.split("@", 1)[1].replace(":", "-") + ".sig"
    doc, media_type = raw.manifest("sig/copy", a_sig)
    raw.put_manifest("sig/copy", b_sig, doc, media_type)
    assert not oracle(cosign, b, key, "v2")

    verdict = await verifier.verify(b, cfg(key))

    verdict = expect_failed(verdict, FailureReason.CLAIMS_MISMATCH)
    assert a.split("@", 1)[1] in verdict.message


@pytest.mark.parametrize("what", ["signature", "payload"])
async def test_corrupted_v2_signature_or_payload_fails(
    registry: Registry, cosign: Cosign, verifier: ImageVerifier, tmp_path: Path, what: str
) -> None:
    repo = f"sig/corrupt-{what}"
    ref = push_tiny_image(registry=registry, repository=repo, tag="v1", workdir=tmp_path, log=cosign.log)
    key = cosign.generate_key_pair(name=f"corrupt-{what}")
    cosign.sign(ref, key=key)
    raw = RawRegistry(registry.host)
    sig_tag = ref.split("@", 1)[1].replace(":", "-") + ".sig"
    doc, media_type = raw.manifest(repo, sig_tag)
    layer = doc["layers"][0]
    if what == "signature":
        annotation = "dev.cosignproject.cosign/signature"
        layer["annotations"][annotation] = flip_b64(layer["annotations"][annotation])
    else:
        payload = json.loads(raw.blob(repo, layer["digest"]))
        payload["optional"] = {"note": "added after signing"}  # same digest claim, different bytes
        layer["digest"], layer["size"] = raw.put_blob(repo, json.dumps(payload).encode())
    raw.put_manifest(repo, sig_tag, doc, media_type)
    assert not oracle(cosign, ref, key, "v2")

    verdict = await verifier.verify(ref, cfg(key))

    expect_failed(verdict, FailureReason.SIGNATURE_MISMATCH)


@pytest.mark.parametrize("what", ["signature", "statement"])
async def test_corrupted_v3_bundle_fails(
    registry: Registry, cosign3: Cosign, verifier: ImageVerifier, tmp_path: Path, what: str
) -> None:
    repo = f"sig/corrupt-bundle-{what}"
    ref = push_tiny_image(registry=registry, repository=repo, tag="v1", workdir=tmp_path, log=cosign3.log)
    key = cosign3.generate_key_pair(name=f"corrupt-bundle-{what}")
    sign(cosign3, ref, key, "v3-bundle")
    raw = RawRegistry(registry.host)
    index_tag = ref.split("@", 1)[1].replace(":", "-")
    index, index_type = raw.manifest(repo, index_tag)
    entry = index["manifests"][0]
    manifest, manifest_type = raw.manifest(repo, entry["digest"])
    layer = manifest["layers"][0]
    bundle = json.loads(raw.blob(repo, layer["digest"]))
    envelope = bundle["dsseEnvelope"]
    if what == "signature":
        envelope["signatures"][0]["sig"] = flip_b64(envelope["signatures"][0]["sig"])
    else:
        statement = json.loads(base64.b64decode(envelope["payload"]))
        statement["predicate"] = {"added": "after signing"}
        envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    layer["digest"], layer["size"] = raw.put_blob(repo, json.dumps(bundle).encode())
    entry["digest"], entry["size"] = raw.put_manifest(repo, "corrupted", manifest, manifest_type)
    raw.put_manifest(repo, index_tag, index, index_type)
    assert not oracle(cosign3, ref, key, "v3-bundle")

    verdict = await verifier.verify(ref, cfg(key))

    expect_failed(verdict, FailureReason.SIGNATURE_MISMATCH)


async def test_tlog_required_and_no_rekor_entry_fails_with_a_clear_reason(
    registry: Registry, cosign3: Cosign, verifier: ImageVerifier, tmp_path: Path
) -> None:
    ref = push_tiny_image(registry=registry, repository="sig/tlog", tag="v1", workdir=tmp_path, log=cosign3.log)
    key = cosign3.generate_key_pair(name="tlog")
    sign(cosign3, ref, key, "v3-bundle")
    sign(cosign3, ref, key, "v3-sig")

    verdict = await verifier.verify(ref, cfg(key, ignoreTlog=False))

    verdict = expect_failed(verdict, FailureReason.TLOG_ENTRY_MISSING)
    assert "ignoreTlog: true" in verdict.message
    assert isinstance(await verifier.verify(ref, cfg(key)), Verified)


async def test_verification_off_makes_no_registry_call(registry: Registry, verifier: ImageVerifier) -> None:
    off = ImageVerificationConfig.model_validate({"enabled": False})
    for config in (None, off):
        verdict = await verifier.verify(f"{registry.host}/nothing/here:v1", config)
        decision = decide(verdict, "Block")
        assert decision.apply
        assert decision.image == f"{registry.host}/nothing/here:v1"
        assert decision.condition is None
    assert verifier.registry_requests == 0


# -- auth and outages ----------------------------------------------------------------------------------


def _dockerconfigjson(host: str, user: str, password: str) -> dict[str, bytes]:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {".dockerconfigjson": json.dumps({"auths": {host: {"auth": auth}}}).encode()}


async def test_basic_auth_registry_with_credentials_from_a_dockerconfigjson(
    tmp_path: Path, peer_logs: Path, verifier: ImageVerifier
) -> None:
    password = "s3cret-Pa55-" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:12]
    try:
        reg = start_registry(workdir=tmp_path / "reg", logs=peer_logs, htpasswd={"puller": password})
    except pins.PeerMissingError as exc:
        peer_unavailable(str(exc))
    try:
        cli = Cosign(workdir=tmp_path / "cosign", log=peer_logs / "cosign-auth.log", major=2)
        for workdir in (tmp_path / "push", tmp_path / "cosign"):
            write_docker_config(workdir=workdir, host=reg.host, username="puller", password=password)
        ref = push_tiny_image(registry=reg, repository="private/app", tag="v1", workdir=tmp_path / "push", log=cli.log)
        key = cli.generate_key_pair(name="auth")
        cli.sign(ref, key=key)

        good = await verifier.verify(
            tag_of(ref, "v1"), cfg(key), pull_secrets=[_dockerconfigjson(reg.host, "puller", password)]
        )
        assert expect_verified(good).image == ref

        fresh = ImageVerifier()
        try:
            anonymous = await fresh.verify(tag_of(ref, "v1"), cfg(key))
            wrong = await fresh.verify(
                tag_of(ref, "v1"), cfg(key), pull_secrets=[_dockerconfigjson(reg.host, "puller", "wrong-password")]
            )
            # Another tenant's credentials do not unlock the first one's cached verdict.
            other_tenant = await verifier.verify(tag_of(ref, "v1"), cfg(key))
        finally:
            await fresh.aclose()
        for verdict in (anonymous, wrong, other_tenant):
            expect_failed(verdict, FailureReason.REGISTRY_AUTH_FAILED)
            for decision in (decide(verdict, "Block"), decide(verdict, "Warn")):
                text = repr(decision)
                secret_b64 = base64.b64encode(f"puller:{password}".encode()).decode()
                assert password not in text
                assert secret_b64 not in text
                assert "wrong-password" not in text
    finally:
        reg.stop()


async def test_registry_down_blocks_and_recovers_when_it_returns(
    tmp_path: Path, peer_logs: Path, cosign: Cosign, clock: FakeClock
) -> None:
    try:
        reg = start_registry(workdir=tmp_path / "reg", logs=peer_logs)
    except pins.PeerMissingError as exc:
        peer_unavailable(str(exc))
    port = int(reg.host.rsplit(":", 1)[1])
    ref = push_tiny_image(registry=reg, repository="down/app", tag="v1", workdir=tmp_path, log=cosign.log)
    key = cosign.generate_key_pair(name="down")
    cosign.sign(ref, key=key)
    reg.stop()
    verifier = ImageVerifier(clock=clock, timeout=2.0)
    try:
        down = await verifier.verify(tag_of(ref, "v1"), cfg(key))
        expect_failed(down, FailureReason.REGISTRY_UNAVAILABLE)
        decision = decide(down, "Block")
        assert not decision.apply
        assert decision.retry

        reg = start_registry(workdir=tmp_path / "reg", logs=peer_logs, port=port)
        back = await verifier.verify(tag_of(ref, "v1"), cfg(key))
        assert expect_verified(back).image == ref
    finally:
        await verifier.aclose()
        reg.stop()
