"""Self-test of the registry, crane and cosign peers: the signature oracle works offline.

An image pushed by crane to the loopback registry and signed with key A verifies with A and fails with
key B, using the cosign CLI (v2 and v3) with no network beyond 127.0.0.1 (no transparency log, private
TUF root, loopback TUF mirror).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.peers.registry import Cosign, Registry, push_tiny_image

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture(params=[2, 3], ids=["cosign-v2", "cosign-v3"])
def any_cosign(request: pytest.FixtureRequest) -> Cosign:
    """Both cosign majors: v2 (the proven offline recipe) and v3 (what the reference operator links)."""
    cli: Cosign = request.getfixturevalue("cosign" if request.param == 2 else "cosign3")
    return cli


def test_signed_with_a_verifies_with_a_not_b(registry: Registry, any_cosign: Cosign, tmp_path: Path) -> None:
    cosign = any_cosign
    repo = f"selftest/app-v{cosign.major}"
    ref = push_tiny_image(registry=registry, repository=repo, tag="v1", workdir=tmp_path, log=cosign.log)
    assert ref.startswith(f"{registry.host}/{repo}@sha256:")
    key_a = cosign.generate_key_pair(name="key-a")
    key_b = cosign.generate_key_pair(name="key-b")

    cosign.sign(ref, key=key_a)

    good = cosign.verify(ref, key=key_a)
    assert good.returncode == 0, good.stderr
    payload = json.loads(good.stdout)
    assert payload[0]["critical"]["type"] == "cosign container image signature"
    assert ref.endswith(payload[0]["critical"]["image"]["docker-manifest-digest"])
    assert "sigstore.dev" not in good.stderr, "cosign reached for the public TUF repository"

    bad = cosign.verify(ref, key=key_b)
    assert bad.returncode != 0
    assert "no matching signatures" in (bad.stderr + bad.stdout)


def test_unsigned_image_fails_verification(registry: Registry, cosign: Cosign, tmp_path: Path) -> None:
    ref = push_tiny_image(registry=registry, repository="selftest/unsigned", tag="v1", workdir=tmp_path, log=cosign.log)
    key = cosign.generate_key_pair(name="key-unsigned")
    res = cosign.verify(ref, key=key)
    assert res.returncode != 0
