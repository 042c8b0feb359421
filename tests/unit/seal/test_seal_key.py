"""The unseal key type: exactly 32 bytes from the injected CSPRNG, never printed, never pickled; and the
Secret shape: immutable, key `key`, labels, an ownerReference only under deletionPolicy DeleteAll."""

from __future__ import annotations

import base64
import logging
import pickle
from typing import Any

import pytest

from openbao_operator.api import OpenBaoCluster, parse_cluster
from openbao_operator.seal import (
    KEY_BYTES,
    UnsealKey,
    UnsealKeyError,
    generate_unseal_key,
    key_secret_manifest,
    key_secret_name,
)

MATERIAL = bytes(range(32))


def _cluster(**spec: Any) -> OpenBaoCluster:
    return parse_cluster(
        {
            "apiVersion": "openbao.org/v1alpha1",
            "kind": "OpenBaoCluster",
            "metadata": {"name": "bao"},
            "spec": {"version": "2.4.1", "tls": {"enabled": True}, "storage": {"size": "1Gi"}, **spec},
        }
    )


def test_generate_draws_32_bytes_from_the_injected_source() -> None:
    asked: list[int] = []

    def source(n: int) -> bytes:
        asked.append(n)
        return MATERIAL[:n]

    key = generate_unseal_key(token_bytes=source)
    assert asked == [KEY_BYTES]
    assert key.material == MATERIAL


def test_default_source_gives_distinct_keys() -> None:
    assert generate_unseal_key() != generate_unseal_key()


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_wrong_length_is_refused_without_echoing_the_bytes(size: int) -> None:
    material = b"\xab" * size
    with pytest.raises(UnsealKeyError) as info:
        UnsealKey(material)
    assert str(size) in str(info.value)
    if size:
        assert repr(material)[2:10] not in str(info.value)


def test_repr_str_format_and_logging_hide_the_bytes(caplog: pytest.LogCaptureFixture) -> None:
    key = UnsealKey(MATERIAL)
    texts = [repr(key), str(key), f"{key}", f"{key!r}", repr([key]), repr({"k": key})]
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("key is %s", key)
    texts.append(caplog.text)
    b64 = base64.b64encode(MATERIAL).decode()
    for text in texts:
        assert "redacted" in text
        assert MATERIAL.hex() not in text
        assert b64 not in text
        assert repr(MATERIAL)[2:20] not in text


def test_key_cannot_be_pickled() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(UnsealKey(MATERIAL))


def test_secret_names() -> None:
    assert key_secret_name("bao") == "bao-unseal-key"
    assert key_secret_name("bao", "v2") == "bao-unseal-key-v2"


@pytest.mark.parametrize(("policy", "owned"), [("Retain", False), ("DeletePVCs", False), ("DeleteAll", True)])
def test_manifest_shape_and_ownership(policy: str, owned: bool) -> None:
    cluster = _cluster(deletionPolicy=policy)
    m = key_secret_manifest(
        cluster,
        namespace="ns",
        name="bao-unseal-key",
        key=UnsealKey(MATERIAL),
        key_id="operator-generated-v1",
        predecessor=None,
        owner_uid="uid-1",
    )
    assert m["immutable"] is True
    assert m["type"] == "Opaque"
    assert base64.b64decode(m["data"]["key"]) == MATERIAL
    assert set(m["data"]) == {"key"}
    meta = m["metadata"]
    assert (meta["name"], meta["namespace"]) == ("bao-unseal-key", "ns")
    assert meta["labels"]["openbao.org/cluster"] == "bao"
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "openbao-operator"
    assert meta["annotations"] == {"openbao.org/unseal-key-id": "operator-generated-v1"}
    assert ("ownerReferences" in meta) == owned
    if owned:
        assert meta["ownerReferences"][0]["uid"] == "uid-1"
        assert meta["ownerReferences"][0]["kind"] == "OpenBaoCluster"
