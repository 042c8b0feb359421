"""The real API server, with deploy/crd.yaml, admits the compatibility corpus as docs/compatibility.md says.

Why a real API server: the schema, the CEL rules, defaulting and strict field validation of the CRD are
only proven by the component that evaluates them. Each file of tests/data/compat is created with
``dryRun=All`` and ``fieldValidation=Strict``: a file refused at stage ``admission`` must get 422 naming its
row's field; every other file (accepted, or refused later by the operator at stage ``models`` or
``render``) must be admitted. The models' and the renderer's half is tests/unit/render/test_compat_corpus.py.

Also here: server-side apply by two field managers on a path the reference marks
``x-kubernetes-map-type: atomic`` replaces the whole object, as with the reference's CRD.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import compat
from tests.peers.controlplane import ControlPlane

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

PLURAL_PATH = "/apis/openbao.org/v1alpha1/namespaces/{namespace}/openbaoclusters"


def _named_fields(body: Any) -> list[str]:
    """The fields the API server's error names: its causes' fields, and paths their messages mention (a
    rule on the whole object, such as the name's length, has no field of its own)."""
    causes = ((body or {}).get("details") or {}).get("causes") or []
    fields = [str(c.get("field", "")) for c in causes]
    for cause in causes:
        fields += re.findall(r"\b(?:spec|metadata)\.[\w.\[\]]*\w", str(cause.get("message", "")))
    return [f for f in fields if f]


@pytest.mark.parametrize("path", compat.CORPUS, ids=[p.stem for p in compat.CORPUS])
def test_the_api_server_admits_or_refuses_as_listed(
    control_plane: ControlPlane,
    crd_installed: dict[str, Any],
    path: Path,
) -> None:
    expected = compat.load(path)
    row = compat.refusals()[expected.refusal] if expected.refusal is not None else None
    status, body = control_plane.request(
        "POST",
        PLURAL_PATH.format(namespace="default") + "?fieldValidation=Strict&dryRun=All",
        body=json.dumps(expected.manifest).encode(),
    )
    if row is None or row.stage != "admission":
        assert status == 201, f"{path.name} was refused at admission: HTTP {status}: {(body or {}).get('message')}"
        return
    assert status == 422, f"{path.name} was admitted (HTTP {status}); the doc says {row.id} at admission"
    named = _named_fields(body)
    assert any(row.names(f) for f in named), f"{path.name}: expected {row.field}, the API server named {named}"


@pytest.fixture
def cluster_namespace(control_plane: ControlPlane) -> Iterator[str]:
    name = f"ssa-{uuid.uuid4().hex[:8]}"
    status, body = control_plane.request(
        "POST", "/api/v1/namespaces", body=json.dumps({"metadata": {"name": name}}).encode()
    )
    assert status == 201, body
    yield name
    control_plane.request("DELETE", f"/api/v1/namespaces/{name}")


def _apply(plane: ControlPlane, namespace: str, manager: str, spec: dict[str, Any]) -> tuple[int, Any]:
    manifest = {"apiVersion": "openbao.org/v1alpha1", "kind": "OpenBaoCluster", "metadata": {"name": "ssa"}}
    return plane.request(
        "PATCH",
        PLURAL_PATH.format(namespace=namespace) + f"/ssa?fieldManager={manager}&force=true&fieldValidation=Strict",
        body=json.dumps({**manifest, "spec": spec}).encode(),
        content_type="application/apply-patch+yaml",
    )


def _owned(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    for entry in obj["metadata"].get("managedFields") or []:
        if entry["manager"] == manager and entry["operation"] == "Apply":
            fields: dict[str, Any] = entry["fieldsV1"]
            return fields
    return {}


def test_two_field_managers_replace_an_atomic_reference_as_a_whole(
    control_plane: ControlPlane,
    crd_installed: dict[str, Any],
    cluster_namespace: str,
) -> None:
    """spec.unseal.credentialsSecretRef is `x-kubernetes-map-type: atomic` in the reference's CRD. A GitOps
    tool (manager A) sets it; a second manager (B) applies `{}`. Atomic: B's value replaces A's whole object
    (the name falls back to its default ""), and B owns the object as one unit. Before this project's CRD
    carried the marker, the two objects were merged key by key and A's name survived."""
    base = {"version": "2.4.4", "tls": {"enabled": True}, "storage": {"size": "1Gi"}}
    transit = {"address": "https://t:8200", "keyName": "k", "mountPath": "transit/"}
    status, body = _apply(
        control_plane,
        cluster_namespace,
        "gitops-a",
        {**base, "unseal": {"type": "transit", "transit": transit, "credentialsSecretRef": {"name": "creds-a"}}},
    )
    assert status in (200, 201), body
    assert body["spec"]["unseal"]["credentialsSecretRef"] == {"name": "creds-a"}
    assert _owned(body, "gitops-a")["f:spec"]["f:unseal"]["f:credentialsSecretRef"] == {}

    status, body = _apply(control_plane, cluster_namespace, "manager-b", {"unseal": {"credentialsSecretRef": {}}})
    assert status == 200, body
    assert body["spec"]["unseal"]["credentialsSecretRef"] == {"name": ""}, "not replaced as a whole"
    assert body["spec"]["unseal"]["transit"] == transit  # the rest of unseal stays A's
    assert _owned(body, "manager-b")["f:spec"]["f:unseal"] == {"f:credentialsSecretRef": {}}
    assert "f:credentialsSecretRef" not in _owned(body, "gitops-a")["f:spec"]["f:unseal"]
