"""The operator image's supply chain, with real cosign and the real registry: the pushed image is signed and
verified by the project's own verifier (imagesig), a tampered image is refused, and the SBOM produced with
the image is attached as a signed CycloneDX attestation that cosign verifies.

Tampering the way an attacker with push rights would: (1) new content under the signed tag (no signature
for its digest), (2) the same, with the valid signature copied to the new digest's signature tag (it
verifies, but names the old digest), (3) a signature made with another key. cosign is the oracle for each.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openbao_operator.api.workload import ImageVerificationConfig
from openbao_operator.imagesig import Failed, FailureReason, ImageVerifier, Verified
from tests.peers import image, pins
from tests.peers.procs import run_checked
from tests.peers.registry import Cosign, KeyPair, Registry, tiny_layer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

CYCLONEDX = "cyclonedx"


@pytest.fixture
async def verifier() -> AsyncIterator[ImageVerifier]:
    v = ImageVerifier()
    try:
        yield v
    finally:
        await v.aclose()


def config(key: KeyPair) -> ImageVerificationConfig:
    return ImageVerificationConfig.model_validate(
        {"enabled": True, "publicKey": key.public.read_text(), "ignoreTlog": True, "failurePolicy": "Block"}
    )


def crane(cosign: Cosign, *args: str) -> str:
    return run_checked([str(pins.binary("crane")), *args], env=cosign.env, log=cosign.log, timeout=300).stdout


async def test_signed_operator_image_verifies_and_tampering_does_not(
    operator_image: image.Build, registry: Registry, cosign: Cosign, verifier: ImageVerifier, tmp_path: Path
) -> None:
    repo = f"{registry.host}/supply/{image.IMAGE_REPOSITORY}"
    tag = f"{repo}:{image.project_version()}"
    digest = image.push(operator_image.image_id, tag, log=cosign.log)
    pinned = f"{repo}@{digest}"
    key = cosign.generate_key_pair(name="release")
    cosign.sign(pinned, key=key)
    assert cosign.verify(tag, key=key).returncode == 0

    verdict = await verifier.verify(tag, config(key))
    assert isinstance(verdict, Verified), verdict
    assert verdict.image == pinned

    # (1) new content under the signed tag: one more layer on top of the real image
    layer = tmp_path / "evil.tar"
    layer.write_bytes(tiny_layer(content=b"not what was signed\n"))
    crane(cosign, "append", "-b", pinned, "-f", str(layer), "-t", tag)
    tampered = crane(cosign, "digest", tag).strip()
    assert tampered != digest
    assert cosign.verify(tag, key=key).returncode != 0
    fresh = ImageVerifier()  # no cache: the tag now names the tampered digest
    try:
        verdict = await fresh.verify(tag, config(key))
        assert isinstance(verdict, Failed), verdict
        assert verdict.reason is FailureReason.NO_SIGNATURES

        # (2) the valid signature copied to the tampered digest's signature tag
        def sig_tag(d: str) -> str:
            return f"{repo}:{d.replace(':', '-')}.sig"

        crane(cosign, "copy", sig_tag(digest), sig_tag(tampered))
        assert cosign.verify(tag, key=key).returncode != 0
        verdict = await fresh.verify(f"{repo}@{tampered}", config(key))
        assert isinstance(verdict, Failed), verdict
        assert verdict.reason is FailureReason.CLAIMS_MISMATCH

        # (3) the untampered image, checked against another key
        other = cosign.generate_key_pair(name="attacker")
        assert cosign.verify(pinned, key=other).returncode != 0
        verdict = await fresh.verify(pinned, config(other))
        assert isinstance(verdict, Failed), verdict
        assert verdict.reason is FailureReason.SIGNATURE_MISMATCH
    finally:
        await fresh.aclose()


async def test_sbom_is_attached_as_a_signed_attestation(
    operator_image: image.Build, registry: Registry, cosign: Cosign, tmp_path: Path
) -> None:
    repo = f"{registry.host}/supply/{image.IMAGE_REPOSITORY}-sbom"
    digest = image.push(operator_image.image_id, f"{repo}:{image.project_version()}", log=cosign.log)
    pinned = f"{repo}@{digest}"
    sbom = tmp_path / "sbom.cdx.json"
    sbom.write_bytes(image.read_file(operator_image.image_id, "/opt/openbao-operator/sbom.cdx.json"))
    doc = json.loads(sbom.read_text())
    assert doc["bomFormat"] == "CycloneDX"
    assert doc["metadata"]["component"]["version"] == image.project_version()
    key = cosign.generate_key_pair(name="sbom")
    cosign.attest(pinned, key=key, predicate=sbom, predicate_type=CYCLONEDX)
    res = cosign.verify_attestation(pinned, key=key, predicate_type=CYCLONEDX)
    assert res.returncode == 0, res.stderr
    other = cosign.generate_key_pair(name="sbom-other")
    assert cosign.verify_attestation(pinned, key=other, predicate_type=CYCLONEDX).returncode != 0
