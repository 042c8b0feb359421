"""`openbao-operator render` on every manifest of examples/: all objects, held by golden files.

Why through the CLI: the golden file is then exactly what a user sees, and the test proves `render`
composes config.hcl and the workload objects (the ConfigMap carries the text whose restart hash is on
the pod template). Regenerate after an intended change with
`UPDATE_GOLDEN=1 uv run pytest tests/unit/render/test_render_examples.py` and review the diff.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from openbao_operator.api import names
from openbao_operator.api.yamlio import load_all
from openbao_operator.cli.main import main

ROOT = Path(__file__).parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
GOLDEN = Path(__file__).parent / "golden_examples"
REQUIRED = {"dev-minimal", "production", "self-init"}


def test_the_issue_examples_exist() -> None:
    assert {p.stem for p in EXAMPLES} >= REQUIRED


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_render_prints_every_object(example: Path) -> None:
    result = CliRunner().invoke(main, ["render", "-f", str(example), "--initialized"])
    assert result.exit_code == 0, result.stderr
    golden = GOLDEN / f"{example.stem}.yaml"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(result.stdout)
    assert golden.is_file(), f"{golden} missing: run with UPDATE_GOLDEN=1 and review it"
    assert result.stdout == golden.read_text(), f"{example.name} renders differently from {golden}"

    documents = load_all(result.stdout)
    kinds = {d["kind"] for d in documents}
    assert {"ConfigMap", "StatefulSet", "Service", "ServiceAccount", "RoleBinding", "NetworkPolicy"} <= kinds
    config = next(d for d in documents if d["kind"] == "ConfigMap")["data"]["config.hcl"]
    template = next(d for d in documents if d["kind"] == "StatefulSet")["spec"]["template"]
    annotation = template["metadata"]["annotations"][names.ANNOTATION_CONFIG_HASH]
    # config.hcl never holds initialize blocks (they are in the self-init Secret): the hash is the file's own.
    assert "initialize " not in config
    assert annotation == hashlib.sha256(config.encode()).hexdigest()
