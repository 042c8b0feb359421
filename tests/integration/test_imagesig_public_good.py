"""Keyless checks against real public-good Sigstore material: a Fulcio certificate, a Rekor SET, the trusted root.

Why: the test CA and test Rekor of the other keyless tests are ours, so they would share a misreading of
the formats with the code under test. sigstore-go's module (already in the Go module cache because cosign
v3 is built from it; fetched from the Go module proxy otherwise) ships the public-good trusted root and a
bundle logged in the public Rekor in 2023. Nothing is copied into this repository; the files are read
where Go keeps them. The bundle is an npm provenance attestation (not a cosign image signature, and its
Rekor entry is of kind `intoto`), so this checks the parts that are the same: the trusted root parser, the
certificate chain to the real Fulcio CAs, the Fulcio issuer extension, the SET canonical form, and the
signing time taken from the log.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from openbao_operator.imagesig import FailureReason
from openbao_operator.imagesig.cosign import pae
from openbao_operator.imagesig.keyless import (
    Identity,
    certificate_key,
    check_certificate,
    fulcio_issuer,
    load_certificate,
    parse_trusted_root,
    subject_names,
)
from openbao_operator.imagesig.public_good import PUBLIC_GOOD_ROOT
from openbao_operator.imagesig.tlog import entry_from_bundle, set_payload
from tests.integration.conftest import peer_unavailable
from tests.peers.install import InstallError, go_env, go_mod_download

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SIGSTORE_GO = ("github.com/sigstore/sigstore-go", "v1.2.1")  # the version cosign v3.1.2 requires
ISSUER = "https://token.actions.githubusercontent.com"
SUBJECT = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"


@pytest.fixture(scope="module")
def examples() -> Path:
    try:
        info = go_mod_download(*SIGSTORE_GO, env=go_env())
    except (InstallError, OSError) as exc:
        peer_unavailable(f"{SIGSTORE_GO[0]}@{SIGSTORE_GO[1]} from the Go module cache/proxy: {exc}")
    path = Path(info["Dir"]) / "examples"
    if not (path / "trusted-root-public-good.json").is_file():
        peer_unavailable(f"{path} has no trusted-root-public-good.json")
    return path


@pytest.fixture(scope="module")
def bundle(examples: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((examples / "bundle-provenance.json").read_text())
    return doc


def test_a_real_fulcio_certificate_and_rekor_set_verify_against_the_public_good_root(
    examples: Path, bundle: dict[str, Any]
) -> None:
    root = parse_trusted_root((examples / "trusted-root-public-good.json").read_bytes(), source="public-good")
    assert root.authorities
    assert root.rekor_keys
    material = bundle["verificationMaterial"]
    cert = load_certificate(base64.b64decode(material["x509CertificateChain"]["certificates"][0]["rawBytes"]))
    assert cert is not None
    assert fulcio_issuer(cert) == ISSUER
    assert SUBJECT in subject_names(cert)

    # The SET: our canonical form of {body, integratedTime, logID, logIndex} is what the real Rekor signed.
    entry = entry_from_bundle(material["tlogEntries"][0])
    assert entry is not None
    rekor = root.rekor_keys[entry.log_id]
    assert rekor.key.verify(entry.set_signature, set_payload(entry))
    tampered = dataclasses.replace(entry, integrated_time=entry.integrated_time + 1)
    assert not rekor.key.verify(entry.set_signature, set_payload(tampered))

    # The DSSE signature verifies with the certificate's key.
    envelope = bundle["dsseEnvelope"]
    key = certificate_key(cert)
    assert key is not None
    assert key.verify(
        base64.b64decode(envelope["signatures"][0]["sig"]),
        pae(envelope["payloadType"], base64.b64decode(envelope["payload"])),
    )

    # At the log's time the certificate chains to the real Fulcio and names the workflow; now it has expired.
    signed_at = dt.datetime.fromtimestamp(entry.integrated_time, dt.UTC)
    identity = Identity(issuer=ISSUER, subject=SUBJECT)
    assert check_certificate(cert, root=root, identity=identity, signed_at=signed_at, time_source="log") is None
    now = check_certificate(cert, root=root, identity=identity, signed_at=dt.datetime.now(dt.UTC), time_source="now")
    assert now is not None
    assert now.reason is FailureReason.CERTIFICATE_EXPIRED
    other_identity = Identity(issuer=ISSUER, subject=SUBJECT.replace("main", "evil"))
    mismatch = check_certificate(cert, root=root, identity=other_identity, signed_at=signed_at, time_source="log")
    assert mismatch is not None
    assert mismatch.reason is FailureReason.IDENTITY_MISMATCH


def test_the_embedded_root_is_the_public_good_instance(bundle: dict[str, Any]) -> None:
    """The root this operator embeds (imagesig/public_good.py, from the sigstore 4.5.1 wheel) verifies the
    same real Fulcio certificate and Rekor SET as sigstore-go's copy: keyless specs without a ConfigMap, as
    the reference's samples write them, are checked against the real public-good instance."""
    root = parse_trusted_root(PUBLIC_GOOD_ROOT.data, source=PUBLIC_GOOD_ROOT.label)
    material = bundle["verificationMaterial"]
    cert = load_certificate(base64.b64decode(material["x509CertificateChain"]["certificates"][0]["rawBytes"]))
    assert cert is not None
    entry = entry_from_bundle(material["tlogEntries"][0])
    assert entry is not None
    assert root.rekor_keys[entry.log_id].key.verify(entry.set_signature, set_payload(entry))
    signed_at = dt.datetime.fromtimestamp(entry.integrated_time, dt.UTC)
    identity = Identity(issuer=ISSUER, subject=SUBJECT)
    assert check_certificate(cert, root=root, identity=identity, signed_at=signed_at, time_source="log") is None
