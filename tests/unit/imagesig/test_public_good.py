"""The embedded public-good Sigstore trusted root: the pinned file, parsed, and named in status."""

from __future__ import annotations

import hashlib

from openbao_operator.imagesig.keyless import parse_trusted_root
from openbao_operator.imagesig.public_good import PUBLIC_GOOD_ROOT, SOURCE_PACKAGE

PINNED_SHA256 = "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66"
"""sha256 of trusted_root.json in the sigstore-4.5.1 wheel (imagesig/public_good.py names the wheel)."""


def test_the_embedded_file_is_the_pinned_one() -> None:
    assert hashlib.sha256(PUBLIC_GOOD_ROOT.data).hexdigest() == PINNED_SHA256
    assert SOURCE_PACKAGE == "sigstore 4.5.1"


def test_it_parses_with_the_fulcio_authorities_and_the_rekor_keys() -> None:
    root = parse_trusted_root(PUBLIC_GOOD_ROOT.data, source="embedded")
    assert len(root.authorities) == 2
    assert len(root.rekor_keys) == 2  # Rekor v1 (ECDSA) and Rekor v2 (Ed25519)


def test_status_names_the_root_with_its_version_and_date() -> None:
    assert PUBLIC_GOOD_ROOT.newest_key_date == "2025-09-23"
    assert PUBLIC_GOOD_ROOT.label == (
        "the embedded public-good Sigstore root (sigstore 4.5.1, newest key valid from 2025-09-23)"
    )
