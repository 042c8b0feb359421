"""The trusted root of keyless image verification: the user's ConfigMap, or none (the embedded root)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from openbao_operator.api import OpenBaoCluster, parse_cluster
from openbao_operator.api.workload import ImageVerificationConfig
from openbao_operator.controller.image import _trusted_root, check_image
from openbao_operator.imagesig import Verdict, Verified
from openbao_operator.kube import ObjectKey
from openbao_operator.render.workload import Manifest


def test_the_trusted_root_comes_from_data_or_binary_data() -> None:
    assert _trusted_root(None) is None
    assert _trusted_root({"data": {"other": "x"}}) is None
    assert _trusted_root({"data": {"trusted_root.json": "{}"}}) == "{}"
    encoded = base64.b64encode(b"{ }").decode()
    assert _trusted_root({"binaryData": {"trusted_root.json": encoded}}) == b"{ }"
    assert _trusted_root({"binaryData": {"trusted_root.json": "!!"}}) is None


class _Objects:
    """Reads from a fixed set of objects, recording the names asked for."""

    def __init__(self, objects: dict[str, Manifest]) -> None:
        self.objects = objects
        self.asked: list[str] = []

    async def get(self, rt: object, key: ObjectKey, *, direct: bool = False) -> Manifest | None:
        self.asked.append(key.name)
        return self.objects.get(key.name)


class _RecordingVerifier:
    def __init__(self) -> None:
        self.roots: list[bytes | str | None] = []

    async def verify(
        self,
        image: str,
        config: ImageVerificationConfig | None,
        *,
        pull_secrets: Sequence[Mapping[str, bytes | str]] = (),
        trusted_root: bytes | str | None = None,
    ) -> Verdict:
        self.roots.append(trusted_root)
        return Verified(image=image, digest="sha256:" + "0" * 64, signer="x", signature_format="cosign-v2")


def _cluster(verification: dict[str, Any]) -> OpenBaoCluster:
    return parse_cluster(
        {
            "apiVersion": "openbao.org/v1alpha1",
            "kind": "OpenBaoCluster",
            "metadata": {"name": "c", "namespace": "ns"},
            "spec": {
                "version": "2.4.4",
                "tls": {"enabled": True},
                "storage": {"size": "1Gi"},
                "imageVerification": {"enabled": True, "issuer": "https://i", "subject": "s", **verification},
            },
        }
    )


async def test_without_a_config_map_the_verifier_gets_no_root_and_uses_its_embedded_one() -> None:
    reader, verifier = _Objects({}), _RecordingVerifier()
    decision = await check_image(_cluster({}), verifier=verifier, reader=reader, namespace="ns")  # type: ignore[arg-type]
    assert decision.apply
    assert verifier.roots == [None]
    assert reader.asked == []


async def test_a_named_config_map_that_is_missing_is_a_configuration_error_not_a_fallback() -> None:
    reader, verifier = _Objects({}), _RecordingVerifier()
    cluster = _cluster({"trustedRootConfigMapRef": {"name": "my-root"}})
    decision = await check_image(cluster, verifier=verifier, reader=reader, namespace="ns")  # type: ignore[arg-type]
    assert not decision.apply
    assert decision.condition is not None
    assert "spec.imageVerification.trustedRootConfigMapRef" in decision.condition.message
    assert verifier.roots == []


async def test_references_with_an_empty_name_are_not_read() -> None:
    """The reference CRD defaults a reference's name to "": such an entry names nothing (reported)."""
    reader, verifier = _Objects({"my-root": {"data": {"trusted_root.json": "{}"}}}), _RecordingVerifier()
    cluster = _cluster({"imagePullSecrets": [{}, {"name": ""}], "trustedRootConfigMapRef": {"name": ""}})
    await check_image(cluster, verifier=verifier, reader=reader, namespace="ns")  # type: ignore[arg-type]
    assert reader.asked == []
    assert verifier.roots == [None]
