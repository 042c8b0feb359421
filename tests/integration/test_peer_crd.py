"""Self-test: the real API server rejects every invalid manifest of tests/data/invalid at admission.

Why: the CRD's OpenAPI schema and CEL rules (deploy/crd.yaml) are only proven by an API server that
evaluates them. Each manifest names the field its error must mention in the annotation
``test.openbao.org/expect-field``; the request uses ``fieldValidation=Strict`` so unknown fields are
rejected instead of silently pruned, as a careful client (and kubectl's default) would ask.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.peers.controlplane import ControlPlane
from tests.peers.pins import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

CRD = REPO_ROOT / "deploy" / "crd.yaml"
INVALID = sorted((REPO_ROOT / "tests" / "data" / "invalid").glob("*.yaml"))
VALID = sorted((REPO_ROOT / "tests" / "data" / "valid").glob("*.yaml"))
TENANTS = sorted((REPO_ROOT / "tests" / "data" / "tenant").glob("*.yaml"))
EXPECT = "test.openbao.org/expect-field"


def _load(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRD is large: use libyaml when present
    doc = yaml.load(path.read_text(), Loader=loader)  # noqa: S506 - a safe loader either way
    assert isinstance(doc, dict), f"{path} is not one YAML mapping"
    return doc


def _create(
    control_plane: ControlPlane, crd: dict[str, Any], manifest: dict[str, Any], namespace: str
) -> tuple[int, Any]:
    group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
    version = manifest["apiVersion"].split("/")[1]
    manifest = {**manifest, "metadata": {k: v for k, v in manifest["metadata"].items() if k != "namespace"}}
    path = f"/apis/{group}/{version}/namespaces/{namespace}/{plural}?fieldValidation=Strict&dryRun=All"
    return control_plane.request("POST", path, body=json.dumps(manifest).encode())


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_manifest_rejected_naming_field(
    control_plane: ControlPlane, crd_installed: dict[str, Any], path: Path
) -> None:
    manifest = _load(path)
    field = manifest["metadata"]["annotations"][EXPECT]
    status, body = _create(control_plane, crd_installed, manifest, "default")
    assert status in (400, 422), f"{path.name} was not rejected: HTTP {status}: {body}"
    message = json.dumps(body)
    assert field in message, f"{path.name}: rejection does not name {field}: {body.get('message')}"


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_manifest_accepted(control_plane: ControlPlane, crd_installed: dict[str, Any], path: Path) -> None:
    """The counterpart: the same schema admits every valid example (server-side dry run)."""
    status, body = _create(control_plane, crd_installed, _load(path), "default")
    assert status == 201, f"{path.name} was rejected: HTTP {status}: {body}"


@pytest.mark.parametrize("path", TENANTS, ids=[p.stem for p in TENANTS])
def test_reference_tenant_manifest_accepted(
    control_plane: ControlPlane, crds_installed: dict[str, dict[str, Any]], path: Path
) -> None:
    """The reference operator's OpenBaoTenant manifests (with quota and limitRange) apply unchanged."""
    manifest = _load(path)
    status, body = _create(control_plane, crds_installed["OpenBaoTenant"], manifest, "default")
    assert status == 201, f"{path.name} was rejected: HTTP {status}: {body}"


def test_tenant_with_bad_target_namespace_is_rejected_naming_the_field(
    control_plane: ControlPlane, crds_installed: dict[str, dict[str, Any]]
) -> None:
    manifest = {
        "apiVersion": "openbao.org/v1alpha1",
        "kind": "OpenBaoTenant",
        "metadata": {"name": "bad"},
        "spec": {"targetNamespace": "Not_A_Namespace"},
    }
    status, body = _create(control_plane, crds_installed["OpenBaoTenant"], manifest, "default")
    assert status == 422, body
    assert "spec.targetNamespace" in json.dumps(body)
