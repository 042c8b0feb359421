"""The real API server with deploy/crd.yaml: the reference's OpenBaoRestore manifests apply,
and the rules hold at admission (overrideOperationLock needs force; the spec is immutable)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from openbao_operator.api.restore import OpenBaoRestore
from tests.peers.controlplane import ControlPlane
from tests.peers.deploy import install_crd

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

BASE = "/apis/openbao.org/v1alpha1/namespaces/{ns}/openbaorestores"


@pytest.fixture
def ns(control_plane: ControlPlane) -> Iterator[str]:
    install_crd(control_plane)
    name = f"rs-{uuid.uuid4().hex[:8]}"
    status, body = control_plane.request(
        "POST", "/api/v1/namespaces", body=json.dumps({"metadata": {"name": name}}).encode()
    )
    assert status == 201, body
    try:
        yield name
    finally:
        control_plane.request("DELETE", f"/api/v1/namespaces/{name}")


def _restore(name: str, **spec: Any) -> dict[str, Any]:
    # As the reference's docs write one: target with endpoint, bucket, region, path style, credentials.
    base: dict[str, Any] = {
        "cluster": "prod-cluster",
        "source": {
            "target": {
                "endpoint": "https://s3.eu-west-1.amazonaws.com",
                "bucket": "openbao-backups",
                "region": "eu-west-1",
                "usePathStyle": False,
                "credentialsSecretRef": {"name": "s3-credentials"},
            },
            "key": "clusters/prod/2025-10-14-120000.snap",
        },
        "jwtAuthRole": "openbao-operator-restore",
        "force": True,
    }
    base.update(spec)
    return {"apiVersion": "openbao.org/v1alpha1", "kind": "OpenBaoRestore", "metadata": {"name": name}, "spec": base}


def test_reference_manifest_applies_and_the_models_agree(control_plane: ControlPlane, ns: str) -> None:
    doc = _restore("r1")
    status, body = control_plane.request("POST", BASE.format(ns=ns), body=json.dumps(doc).encode())
    assert status == 201, body
    assert body["spec"]["overrideOperationLock"] is False  # defaulted by the API server, as in the models
    assert body["spec"]["source"]["target"]["provider"] == "s3"
    model = OpenBaoRestore.model_validate(body)
    assert model.spec.source.key == "clusters/prod/2025-10-14-120000.snap"


def test_override_lock_without_force_is_refused(control_plane: ControlPlane, ns: str) -> None:
    doc = _restore("r2", force=False, overrideOperationLock=True)
    status, body = control_plane.request("POST", BASE.format(ns=ns), body=json.dumps(doc).encode())
    assert status == 422, body
    assert "spec.overrideOperationLock" in body["message"]
    assert "requires force" in body["message"]


def test_the_spec_is_immutable(control_plane: ControlPlane, ns: str) -> None:
    status, body = control_plane.request("POST", BASE.format(ns=ns), body=json.dumps(_restore("r3")).encode())
    assert status == 201, body
    patch = {"spec": {"source": {"key": "clusters/prod/other.snap"}}}
    status, body = control_plane.request(
        "PATCH",
        f"{BASE.format(ns=ns)}/r3",
        body=json.dumps(patch).encode(),
        content_type="application/merge-patch+json",
    )
    assert status == 422, body
    assert "immutable" in body["message"]
