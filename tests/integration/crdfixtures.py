"""Session fixtures that install deploy/crd.yaml into the shared control plane.

Why a module of its own: several test modules need the installed CRDs; importing a fixture from another
test module brings only the names imported (a dependent fixture left behind is "not found"), so the
fixtures live here and the integration conftest registers the module as a plugin.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import yaml

from tests.peers.controlplane import ControlPlane
from tests.peers.pins import REPO_ROOT

CRD = REPO_ROOT / "deploy" / "crd.yaml"


def _install(control_plane: ControlPlane, crd: dict[str, Any]) -> dict[str, Any]:
    name = crd["metadata"]["name"]
    status, body = control_plane.request(
        "PATCH",
        f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}?fieldManager=peers-tests&force=true",
        body=json.dumps(crd).encode(),
        content_type="application/apply-patch+yaml",
    )
    if status not in (200, 201):
        causes = (body or {}).get("details", {}).get("causes", [])
        lines = [f"- {c.get('field')}: {str(c.get('message')).splitlines()[0][:200]}" for c in causes]
        pytest.fail(
            f"the API server rejected {name} of {CRD.relative_to(REPO_ROOT)} (HTTP {status}):\n"
            + "\n".join(lines or [str(body)]),
            pytrace=False,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = control_plane.get_json(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
        conditions = (got.get("status") or {}).get("conditions") or []
        if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
            return crd
        time.sleep(0.5)
    pytest.fail(f"CRD {name} not Established within 60s", pytrace=False)


@pytest.fixture(scope="session")
def crds_installed(control_plane: ControlPlane) -> dict[str, dict[str, Any]]:
    """Server-side apply every CRD of deploy/crd.yaml and wait for Established; returns them by kind."""
    if not CRD.is_file():
        pytest.fail(f"{CRD} is missing", pytrace=False)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    docs = [d for d in yaml.load_all(CRD.read_text(), Loader=loader) if isinstance(d, dict)]
    return {d["spec"]["names"]["kind"]: _install(control_plane, d) for d in docs}


@pytest.fixture(scope="session")
def crd_installed(crds_installed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The OpenBaoCluster CRD, installed."""
    return crds_installed["OpenBaoCluster"]
