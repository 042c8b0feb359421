"""The committed CRDs are what the models generate, and they are valid structural schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from openbao_operator.api.crd import crd, crds, restore_crd, tenant_crd
from openbao_operator.api.yamlio import dump_all

COMMITTED = Path(__file__).parents[3] / "deploy" / "crd.yaml"
FORBIDDEN = {"$ref", "$defs", "anyOf", "oneOf", "allOf", "title", "nullable", "patternProperties", "propertyNames",
             "x-message", "const"}  # fmt: skip


def _schema(definition: dict[str, Any] | None = None) -> dict[str, Any]:
    version: dict[str, Any] = (definition or crd())["spec"]["versions"][0]
    return version["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def _walk(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from _walk(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(node["additionalProperties"], f"{path}{{}}")


def test_committed_crd_matches_the_models() -> None:
    assert COMMITTED.read_text() == dump_all(crds()), "run: openbao-operator crd > deploy/crd.yaml"


def test_tenant_crd_has_the_reference_names_and_fields() -> None:
    spec = tenant_crd()["spec"]
    assert spec["group"] == "openbao.org"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == "OpenBaoTenant"
    assert spec["names"]["plural"] == "openbaotenants"
    assert spec["names"]["shortNames"] == ["obt"]
    version = spec["versions"][0]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    assert [c["jsonPath"] for c in version["additionalPrinterColumns"]] == [
        ".spec.targetNamespace",
        ".status.provisioned",
        ".metadata.creationTimestamp",
    ]
    schema = _schema(tenant_crd())
    assert schema["properties"]["spec"]["required"] == ["targetNamespace"]
    assert {"targetNamespace", "quota", "limitRange"} == set(schema["properties"]["spec"]["properties"])
    assert {"provisioned", "lastError", "conditions"} == set(schema["properties"]["status"]["properties"])


def test_names_and_subresources() -> None:
    spec = crd()["spec"]
    assert spec["group"] == "openbao.org"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == "OpenBaoCluster"
    assert spec["names"]["shortNames"] == ["bao", "baoc"]
    version = spec["versions"][0]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    columns = {c["name"] for c in version["additionalPrinterColumns"]}
    assert {"Phase", "Replicas", "Ready", "Version", "Age"} <= columns


@pytest.mark.parametrize("definition", crds(), ids=lambda d: d["spec"]["names"]["kind"])
def test_structural_schema_rules(definition: dict[str, Any]) -> None:
    for path, node in _walk(_schema(definition), "openAPIV3Schema"):
        assert not FORBIDDEN & set(node), f"{path}: {FORBIDDEN & set(node)}"
        typed = (
            "type" in node or node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields")
        )
        assert typed, f"{path} has no type"
        if "properties" in node:
            assert "additionalProperties" not in node, path
        assert node.get("default", 0) is not None, f"{path}: default null"


@pytest.mark.parametrize("definition", crds(), ids=lambda d: d["spec"]["names"]["kind"])
def test_every_field_has_a_description(definition: dict[str, Any]) -> None:
    missing = [
        path
        for path, node in _walk(_schema(definition)["properties"]["spec"], "spec")
        if not path.endswith(("[]", "{}")) and not node.get("description")
    ]
    assert missing == []


def test_conditions_merge_by_type() -> None:
    conditions = _schema()["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]


def test_rules_name_their_field() -> None:
    rules = [
        (path, rule)
        for path, node in _walk(_schema()["properties"]["spec"], "spec")
        for rule in node.get("x-kubernetes-validations", [])
    ]
    assert len(rules) > 20
    for path, rule in rules:
        assert rule["message"], path
        if "fieldPath" in rule:
            field = rule["fieldPath"].lstrip(".").split(".")[0]
            node = dict(_walk(_schema()["properties"]["spec"], "spec"))[path]
            assert field in node["properties"], f"{path}: fieldPath {rule['fieldPath']} is not a property"


def test_yaml_is_loadable() -> None:
    assert list(yaml.safe_load_all(COMMITTED.read_text())) == crds()
    assert [d["spec"]["names"]["kind"] for d in crds()] == ["OpenBaoCluster", "OpenBaoTenant", "OpenBaoRestore"]


def test_restore_crd_is_structural_and_has_the_reference_names() -> None:
    spec = restore_crd()["spec"]
    assert spec["names"]["kind"] == "OpenBaoRestore"
    assert spec["names"]["shortNames"] == ["obrestore"]
    schema = spec["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in _walk(schema, "openAPIV3Schema"):
        assert not FORBIDDEN & set(node), f"{path}: {FORBIDDEN & set(node)}"
    props = schema["properties"]["spec"]["properties"]
    assert set(props) == {"cluster", "source", "jwtAuthRole", "tokenSecretRef", "image", "force",
                          "overrideOperationLock"}  # fmt: skip
    assert set(props["source"]["properties"]) == {"target", "key"}
    status = schema["properties"]["status"]["properties"]
    assert status["phase"]["enum"] == ["Pending", "Validating", "Running", "Completed", "Failed"]
    rules = [r["rule"] for r in schema["properties"]["spec"]["x-kubernetes-validations"]]
    assert "self == oldSelf" in rules
