"""How deeply a spec may nest: the models' check and the generated admission policy (api/depth.py).

The policy's CEL is proven on the real API server (tests/integration/test_nesting.py: 32 levels admitted,
33 refused, every valid manifest admitted); here the Python twin, the committed file and the headroom.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from openbao_operator.api import InvalidClusterError, parse_cluster
from openbao_operator.api.crd import crd
from openbao_operator.api.depth import MAX_SPEC_DEPTH, admission_policy, depth_cel, too_deep
from openbao_operator.api.yamlio import dump_all
from openbao_operator.cli.main import main

ROOT = Path(__file__).parents[3]
EXAMPLE = yaml.safe_load((ROOT / "examples" / "cluster.yaml").read_text())


def nested(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"a": value}
    return value


DATA_OFFSET = 4
"""spec (1), selfInit, requests, the request: the request's free-form ``data`` starts at level 5."""


def with_data(levels: int) -> dict[str, Any]:
    """The example with ``levels`` levels of nesting in a self-init request's free-form data (the subtree the
    CRD schema cannot bound)."""
    doc: dict[str, Any] = copy.deepcopy(EXAMPLE)
    request = {"name": "r", "operation": "update", "path": "secret/data/x", "data": nested(levels)}
    doc["spec"]["selfInit"] = {"enabled": True, "requests": [request]}
    return doc


def test_the_limit_counts_spec_as_level_one() -> None:
    assert too_deep({"a": {"b": 1}}, limit=2) is None
    assert too_deep({"a": {"b": {}}}, limit=2) == "a.b"
    assert too_deep({"a": [[1]]}, limit=2) == "a[0]"
    assert too_deep([], limit=0) == ""


def test_a_spec_at_the_limit_parses_and_one_level_more_names_the_field() -> None:
    parse_cluster(with_data(MAX_SPEC_DEPTH - DATA_OFFSET))  # the request's data ends at level 32
    with pytest.raises(InvalidClusterError) as caught:
        parse_cluster(with_data(MAX_SPEC_DEPTH - DATA_OFFSET + 1))
    (error,) = caught.value.errors
    assert error.path.startswith("spec.selfInit.requests[0].data.a.a.a")
    assert error.path.endswith("...")
    assert f"nested more than {MAX_SPEC_DEPTH} levels" in error.message


def test_any_depth_is_measured_without_recursion() -> None:
    # built iteratively; 100,000 levels would overflow any recursive walk
    doc = with_data(0)
    doc["spec"]["selfInit"] = {"enabled": True, "requests": [{"name": "r", "operation": "update", "path": "x"}]}
    doc["spec"]["selfInit"]["requests"][0]["data"] = nested(100_000)
    with pytest.raises(InvalidClusterError) as caught:
        parse_cluster(doc)
    assert caught.value.errors[0].path.startswith("spec.selfInit.requests[0].data.a")


def _schema_depth(node: dict[str, Any]) -> int:
    kids = [*(node.get("properties") or {}).values()]
    if isinstance(node.get("additionalProperties"), dict):
        kids.append(node["additionalProperties"])
    if "items" in node:
        kids.append(node["items"])
    below = max((_schema_depth(k) for k in kids), default=0)
    return below + 1 if node.get("type") in ("object", "array") or kids else below


def test_typed_fields_leave_room_for_free_form_data() -> None:
    spec = crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert _schema_depth(spec) + 16 <= MAX_SPEC_DEPTH


def test_the_committed_policy_is_the_generated_one() -> None:
    committed = (ROOT / "deploy" / "admission-policy.yaml").read_text()
    assert committed == dump_all(admission_policy()), "run: openbao-operator admission-policy > deploy/..."
    assert CliRunner().invoke(main, ["admission-policy"]).output == committed
    assert "admission-policy.yaml" in (ROOT / "deploy" / "kustomization.yaml").read_text()


def test_the_cel_grows_linearly_and_stops_at_the_limit() -> None:
    assert depth_cel("x", limit=1) == "(type(x) == map ? x.map(k1, x[k1]) : type(x) == list ? x : []).all(v1, " \
        "!(type(v1) == map || type(v1) == list))"  # fmt: skip
    assert len(depth_cel("x", limit=64)) < 2 * len(depth_cel("x", limit=32)) + 100
