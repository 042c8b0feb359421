"""The chart's generated parts (CRD, RBAC, version) are what scripts/gen_chart.py makes from deploy/ now, and a
change to deploy/'s RBAC reaches the chart by rerunning it: deploy/ is the one source of the permissions."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
import yaml

import openbao_operator
from tests.unit.install.scriptload import load_script

gen_chart = load_script("gen_chart")
ROOT = Path(gen_chart.ROOT)
CHART = ROOT / "charts" / "openbao-operator"


def test_committed_generated_files_are_current() -> None:
    stale = [p.relative_to(ROOT).as_posix() for p in gen_chart.stale()]
    assert stale == [], "run: uv run python scripts/gen_chart.py"


def _checkout_copy(tmp_path: Path) -> Path:
    for part in ("deploy", "charts"):
        shutil.copytree(ROOT / part, tmp_path / part)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_a_new_rbac_rule_in_deploy_reaches_the_chart(tmp_path: Path) -> None:
    root = _checkout_copy(tmp_path)
    assert gen_chart.stale(root=root) == []
    rbac = root / "deploy" / "rbac-cluster.yaml"
    docs = list(yaml.safe_load_all(rbac.read_text()))
    docs[0]["rules"].append({"apiGroups": ["example.org"], "resources": ["widgets"], "verbs": ["get"]})
    rbac.write_text(yaml.safe_dump_all(docs))
    assert root / "charts/openbao-operator/templates/generated.yaml" in gen_chart.stale(root=root)
    gen_chart.write(root=root)
    assert "widgets" in (root / "charts/openbao-operator/templates/generated.yaml").read_text()
    assert gen_chart.stale(root=root) == []


def test_a_new_rbac_file_in_the_kustomization_reaches_the_chart(tmp_path: Path) -> None:
    """New kinds and files (a pre-installed role for OpenBao's pods, say) follow without touching the script."""
    root = _checkout_copy(tmp_path)
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "openbao-server-example"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    }
    (root / "deploy" / "extra.yaml").write_text(yaml.safe_dump(role))
    kustomization = yaml.safe_load((root / "deploy" / "kustomization.yaml").read_text())
    kustomization["resources"].append("extra.yaml")
    (root / "deploy" / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    gen_chart.write(root=root)
    text = (root / "charts/openbao-operator/templates/generated.yaml").read_text()
    assert 'name: "openbao-server-example"' in text
    assert "# from deploy/extra.yaml" in text


def test_crds_of_mixed_files_are_refused(tmp_path: Path) -> None:
    root = _checkout_copy(tmp_path)
    crd = (root / "deploy" / "crd.yaml").read_text()
    (root / "deploy" / "crd.yaml").write_text(crd + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    with pytest.raises(SystemExit, match="keep CRDs in files of their own"):
        gen_chart.generate(root=root)


def test_one_version_for_package_image_and_chart() -> None:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        version = tomllib.load(fh)["project"]["version"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["version"] == version
    assert chart["appVersion"] == version
    assert openbao_operator.__version__ == version
    operator = (ROOT / "deploy" / "operator.yaml").read_text()
    assert f"image: ghcr.io/openbao-operator/openbao-operator:{version}\n" in operator
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["image"]["tag"] == "", "the chart's image tag defaults to appVersion"


def test_values_schema_covers_every_value() -> None:
    """A value the schema does not know would be accepted silently; the schema refuses unknown keys."""
    import json

    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert schema["additionalProperties"] is False

    def walk(node: dict[str, object], schema_node: dict[str, object], path: str) -> None:
        props = schema_node.get("properties")
        assert isinstance(props, dict), f"{path}: no properties in the schema"
        for key, value in node.items():
            assert key in props, f"{path}.{key} is not in values.schema.json"
            child = props[key]
            if isinstance(value, dict) and isinstance(child, dict) and "properties" in child:
                walk(value, child, f"{path}.{key}")

    walk(values, schema, "values")
