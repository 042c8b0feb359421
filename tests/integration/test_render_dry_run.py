"""The real API server accepts every rendered object, and a pod from the StatefulSet template is admitted
under Pod Security Standards "restricted".

Why a real control plane: only the API server's own validation, defaulting, strict field validation,
server-side apply and PodSecurity admission prove that the renderer's plain dicts are valid objects.
Each object is server-side applied with `dryRun=All`, `fieldValidation=Strict` (an unknown field is an
error, not silently pruned) and the operator's field manager, into a namespace that enforces and warns
on "restricted", owned by a real OpenBaoCluster (the CRD is installed). The Gateway API CRDs come from
the sigs.k8s.io/gateway-api Go module (v1.4.1, the reference's version), experimental channel (TLSRoute).
"""

from __future__ import annotations

import base64
import copy
import json
import os
import time
import urllib.error
import urllib.request
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from openbao_operator.api import parse_cluster
from openbao_operator.api.yamlio import load_all
from openbao_operator.cli.main import main
from openbao_operator.render.desired import render_desired
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload import unseal_key_shape, workload_objects
from openbao_operator.seal import UnsealKey
from tests.integration.conftest import peer_unavailable
from tests.peers.controlplane import ControlPlane, _ssl_context
from tests.peers.pins import REPO_ROOT
from tests.unit.render.workload.cases import CASES, CONFIG_HASH, CONFIG_TEXT, SELF_INIT_TEXT, Case

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

GATEWAY_API_VERSION = "v1.4.1"
CRD = REPO_ROOT / "deploy" / "crd.yaml"
EXAMPLES = sorted((REPO_ROOT / "examples").glob("*.yaml"))
CA_PEM_FOR_GATEWAY = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"

PLURALS = {
    ("v1", "ServiceAccount"): "serviceaccounts",
    ("v1", "ConfigMap"): "configmaps",
    ("v1", "Service"): "services",
    ("v1", "Secret"): "secrets",
    ("v1", "Pod"): "pods",
    ("apps/v1", "StatefulSet"): "statefulsets",
    ("rbac.authorization.k8s.io/v1", "Role"): "roles",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "rolebindings",
    ("policy/v1", "PodDisruptionBudget"): "poddisruptionbudgets",
    ("networking.k8s.io/v1", "NetworkPolicy"): "networkpolicies",
    ("networking.k8s.io/v1", "Ingress"): "ingresses",
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "httproutes",
    ("gateway.networking.k8s.io/v1alpha2", "TLSRoute"): "tlsroutes",
    ("gateway.networking.k8s.io/v1", "BackendTLSPolicy"): "backendtlspolicies",
}


def collection(obj: dict[str, Any], namespace: str) -> str:
    api_version, kind = obj["apiVersion"], obj["kind"]
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    return f"{prefix}/namespaces/{namespace}/{PLURALS[(api_version, kind)]}"


def call(
    plane: ControlPlane, method: str, path: str, body: Any, *, content_type: str = "application/json"
) -> tuple[int, Any, list[str]]:
    """A raw request as admin that also returns the API server's Warning headers."""
    ctx = _ssl_context(ca=plane.ca.files.cert, cert=plane.admin_cert)
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(  # noqa: S310 - our loopback API server
        f"{plane.server}{path}", data=data, method=method, headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(req, timeout=30, context=ctx) as resp:  # noqa: S310
            return int(resp.status), json.loads(resp.read() or b"null"), resp.headers.get_all("Warning") or []
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read() or b"null"), exc.headers.get_all("Warning") or []


def dry_run_apply(plane: ControlPlane, obj: dict[str, Any], namespace: str) -> tuple[int, Any, list[str]]:
    path = (
        f"{collection(obj, namespace)}/{obj['metadata']['name']}"
        "?fieldManager=openbao-operator&force=true&dryRun=All&fieldValidation=Strict"
    )
    return call(plane, "PATCH", path, obj, content_type="application/apply-patch+yaml")


def apply_crds(plane: ControlPlane, documents: list[dict[str, Any]]) -> None:
    names = []
    for crd in documents:
        name = crd["metadata"]["name"]
        status, body, _ = call(
            plane,
            "PATCH",
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}?fieldManager=tests&force=true",
            crd,
            content_type="application/apply-patch+yaml",
        )
        if status not in (200, 201):
            raise CrdRejectedError(f"applying CRD {name}: HTTP {status}: {str(body.get('message'))[:600]}")
        names.append(name)
    deadline = time.monotonic() + 60
    for name in names:
        while True:
            got = plane.get_json(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            if any(
                c["type"] == "Established" and c["status"] == "True"
                for c in (got.get("status") or {}).get("conditions") or []
            ):
                break
            assert time.monotonic() < deadline, f"CRD {name} not Established within 60s"
            time.sleep(0.3)


class CrdRejectedError(AssertionError):
    pass


@pytest.fixture(scope="session")
def openbao_crd(control_plane: ControlPlane) -> bool:
    """Install every CRD of deploy/crd.yaml; False (with a warning) when the API server rejects one.

    The owner of the rendered objects is then a synthetic uid: the API server validates an ownerReference's
    form, not that its owner exists, so the dry run still proves every rendered object; only the owner is
    not a live OpenBaoCluster.
    """
    try:
        apply_crds(control_plane, [d for d in yaml.safe_load_all(CRD.read_text()) if isinstance(d, dict)])
    except CrdRejectedError as exc:
        warnings.warn(f"deploy/crd.yaml is rejected by the API server; owners are synthetic: {exc}", stacklevel=1)
        return False
    return True


@pytest.fixture(scope="session")
def crds(control_plane: ControlPlane) -> ControlPlane:
    """The Gateway API CRDs (experimental channel) installed."""
    try:
        from tests.peers.install import go_env, go_mod_download

        info = go_mod_download("sigs.k8s.io/gateway-api", GATEWAY_API_VERSION, env=go_env())
    except Exception as exc:  # any failure to fetch the module means the peer is missing
        peer_unavailable(f"Gateway API CRDs (sigs.k8s.io/gateway-api@{GATEWAY_API_VERSION}): {exc}")
    crd_dir = Path(info["Dir"]) / "config" / "crd" / "experimental"
    documents = [
        doc
        for path in sorted(crd_dir.glob("gateway.networking.k8s.io_*.yaml"))
        for doc in load_all(path.read_text())
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
    ]
    assert documents, f"no Gateway API CRDs under {crd_dir}"
    apply_crds(control_plane, documents)
    return control_plane


@pytest.fixture
def restricted_namespace(crds: ControlPlane) -> Iterator[str]:
    name = f"r-{uuid.uuid4().hex[:10]}"
    labels = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
    }
    status, body, _ = call(crds, "POST", "/api/v1/namespaces", {"metadata": {"name": name, "labels": labels}})
    assert status == 201, body
    try:
        yield name
    finally:
        call(crds, "DELETE", f"/api/v1/namespaces/{name}", None)


def create_cluster(plane: ControlPlane, doc: dict[str, Any], namespace: str, *, crd: bool) -> str:
    """Create the OpenBaoCluster for real (so ownerReferences name a live owner); returns its uid."""
    if not crd:
        return str(uuid.uuid4())
    manifest = copy.deepcopy(doc)
    manifest["metadata"] = {"name": doc["metadata"]["name"]}
    status, body, _ = call(
        plane,
        "POST",
        f"/apis/openbao.org/v1alpha1/namespaces/{namespace}/openbaoclusters?fieldValidation=Strict",
        manifest,
    )
    assert status == 201, f"creating the OpenBaoCluster: HTTP {status}: {body}"
    return str(body["metadata"]["uid"])


def pod_from_template(sts: dict[str, Any], namespace: str) -> dict[str, Any]:
    """Pod `<sts>-0` as the StatefulSet controller would create it (claim volume `data` added)."""
    template = copy.deepcopy(sts["spec"]["template"])
    name = f"{sts['metadata']['name']}-0"
    spec = template["spec"]
    spec["volumes"] = [*spec["volumes"], {"name": "data", "persistentVolumeClaim": {"claimName": f"data-{name}"}}]
    spec["hostname"] = name
    spec["subdomain"] = sts["spec"]["serviceName"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, **template["metadata"]},
        "spec": spec,
    }


def with_key(shape: dict[str, Any]) -> dict[str, Any]:
    """The Secret the seal package would create for the shown shape, with a fresh random key."""
    secret = copy.deepcopy(shape)
    secret["data"] = {"key": base64.b64encode(UnsealKey(os.urandom(32)).material).decode()}
    return secret


def check_objects(plane: ControlPlane, objects: list[dict[str, Any]], namespace: str) -> None:
    kinds = set()
    for obj in objects:
        status, body, warnings = dry_run_apply(plane, obj, namespace)
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert status in (200, 201), f"{where} rejected: HTTP {status}: {body.get('message') if body else body}"
        assert not [w for w in warnings if "PodSecurity" in w or "unknown field" in w], f"{where}: {warnings}"
        kinds.add(obj["kind"])
    # The pod's ServiceAccount must exist for Pod admission: create it for real.
    account = next(o for o in objects if o["kind"] == "ServiceAccount")
    status, body, _ = call(plane, "POST", collection(account, namespace), account)
    assert status == 201, body
    sts = next(o for o in objects if o["kind"] == "StatefulSet")
    priority_class = sts["spec"]["template"]["spec"].get("priorityClassName")
    if priority_class:  # a user's PriorityClass must exist for Pod admission (409: made by an earlier test)
        pc = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": priority_class}}
        status, body, _ = call(plane, "POST", "/apis/scheduling.k8s.io/v1/priorityclasses", {**pc, "value": 1000})
        assert status in (201, 409), body
    pod = pod_from_template(sts, namespace)
    status, body, warnings = call(
        plane, "POST", f"/api/v1/namespaces/{namespace}/pods?dryRun=All&fieldValidation=Strict", pod
    )
    assert status == 201, f"pod from the template not admitted: HTTP {status}: {body.get('message')}"
    assert warnings == [], warnings


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_render_to_objects_the_api_server_accepts(
    crds: ControlPlane, openbao_crd: bool, restricted_namespace: str, example: Path
) -> None:
    doc = load_all(example.read_text())[0]
    uid = create_cluster(crds, doc, restricted_namespace, crd=openbao_crd)
    facts = RenderFacts(namespace=restricted_namespace, owner_uid=uid, initialized=True, api_server_cidr="10.0.0.1/32")
    state = render_desired(parse_cluster(doc), facts=facts)
    objects = list(state.objects)
    if state.unseal_key_shape is not None:
        objects.insert(0, with_key(state.unseal_key_shape))
    check_objects(crds, objects, restricted_namespace)


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_cli_output_applies_as_it_is(
    crds: ControlPlane, restricted_namespace: str, example: Path, tmp_path: Path
) -> None:
    """What a GitOps tool applies: the `render` command's stdout, every document unchanged (the manifest's
    namespace is moved to --namespace). No Secret without data (an unseal key applied like that would stand in
    the key's place for ever); what the operator makes itself is named on stderr."""
    doc = load_all(example.read_text())[0]
    doc["metadata"].pop("namespace", None)
    manifest = tmp_path / example.name
    manifest.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(main, ["render", "-f", str(manifest), "--namespace", restricted_namespace])
    assert result.exit_code == 0, result.stderr
    documents = load_all(result.stdout)
    for obj in documents:
        assert obj.get("immutable") is not True
        assert obj["kind"] != "Secret" or obj.get("data"), obj["metadata"]["name"]
        status, body, warnings = dry_run_apply(crds, obj, restricted_namespace)
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert status in (200, 201), f"{where} rejected: HTTP {status}: {body.get('message') if body else body}"
        assert not [w for w in warnings if "PodSecurity" in w or "unknown field" in w], f"{where}: {warnings}"
    if doc["spec"].get("unseal", {}).get("type", "static") == "static":
        assert f"Secret {doc['metadata']['name']}-unseal-key (" in result.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_representative_cases_render_to_objects_the_api_server_accepts(
    crds: ControlPlane, openbao_crd: bool, restricted_namespace: str, case: Case
) -> None:
    uid = create_cluster(crds, case.doc, restricted_namespace, crd=openbao_crd)
    facts = RenderFacts(
        **{**case.facts.__dict__, "namespace": restricted_namespace, "owner_uid": uid, "tls_ca_pem": CA_PEM_FOR_GATEWAY}
    )
    cluster = case.cluster()
    objects = workload_objects(
        cluster, facts, config_text=CONFIG_TEXT, config_hash=CONFIG_HASH, self_init_text=SELF_INIT_TEXT
    )
    shape = unseal_key_shape(cluster, facts)
    if shape is not None:
        objects.insert(0, with_key(shape))
    check_objects(crds, objects, restricted_namespace)


def test_the_api_server_refuses_to_replace_an_existing_unseal_key(
    crds: ControlPlane, restricted_namespace: str
) -> None:
    """Second line of defence behind the render: the Secret is immutable, and a create of an existing one fails."""
    case = next(c for c in CASES if c.name == "operator-managed-static-bootstrap")
    facts = RenderFacts(namespace=restricted_namespace)
    shape = unseal_key_shape(case.cluster(), facts)
    assert shape is not None
    first, second = with_key(shape), with_key(shape)
    path = f"/api/v1/namespaces/{restricted_namespace}/secrets"
    status, body, _ = call(crds, "POST", path, first)
    assert status == 201, body
    status, body, _ = call(crds, "POST", path, second)
    assert status == 409, body  # AlreadyExists: the controller's create never overwrites
    status, body, _ = call(
        crds,
        "PATCH",
        f"{path}/{first['metadata']['name']}?fieldManager=openbao-operator&force=true",
        second,
        content_type="application/apply-patch+yaml",
    )
    assert status == 422, body  # immutable: even a forced apply cannot change the key
    assert "immutable" in json.dumps(body)
    _, stored, _ = call(crds, "GET", f"{path}/{first['metadata']['name']}", None)
    assert base64.b64decode(stored["data"]["key"]) == base64.b64decode(first["data"]["key"])
