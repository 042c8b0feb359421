"""OpenBaoTenant manifests of the reference operator parse unchanged; bad ones name the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from openbao_operator.api import InvalidClusterError
from openbao_operator.api.tenant import parse_tenant

DATA = Path(__file__).parents[2] / "data" / "tenant"


@pytest.mark.parametrize("path", sorted(DATA.glob("*.yaml")), ids=lambda p: p.stem)
def test_reference_manifests_parse(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    tenant = parse_tenant(doc)
    assert tenant.spec.target_namespace == doc["spec"]["targetNamespace"]


def test_quota_and_limit_range_are_kept_as_given() -> None:
    tenant = parse_tenant(yaml.safe_load((DATA / "central-with-quota.yaml").read_text()))
    assert tenant.spec.quota == {"hard": {"pods": "10", "requests.storage": "100Gi"}}
    assert tenant.spec.limit_range is not None


@pytest.mark.parametrize(
    ("target", "fragment"),
    [("", "DNS label"), ("Team_A", "DNS label"), ("a" * 64, "at most 63")],
)
def test_bad_target_namespace_names_the_field(target: str, fragment: str) -> None:
    doc = {
        "apiVersion": "openbao.org/v1alpha1",
        "kind": "OpenBaoTenant",
        "metadata": {"name": "t", "namespace": "x"},
        "spec": {"targetNamespace": target},
    }
    with pytest.raises(InvalidClusterError) as info:
        parse_tenant(doc)
    assert info.value.errors[0].path == "spec.targetNamespace"
    assert fragment in str(info.value)


def test_missing_target_and_unknown_field_are_named() -> None:
    doc = {"apiVersion": "openbao.org/v1alpha1", "kind": "OpenBaoTenant", "metadata": {"name": "t"}, "spec": {"x": 1}}
    with pytest.raises(InvalidClusterError) as info:
        parse_tenant(doc)
    assert {e.path for e in info.value.errors} == {"spec.targetNamespace", "spec.x"}


def test_other_kind_is_refused() -> None:
    with pytest.raises(InvalidClusterError, match=r"expected apiVersion openbao\.org/v1alpha1 and kind OpenBaoTenant"):
        parse_tenant({"apiVersion": "openbao.org/v1alpha1", "kind": "OpenBaoCluster"})
