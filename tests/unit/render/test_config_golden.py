"""Golden files of config.hcl: every stanza, seal type, TLS mode, and every error naming its field.

Each golden file under golden/config/ was read against OpenBao's documentation and, for the cases the
integration tier boots, against bao 2.7.2 itself. ``<case>.hcl`` is config.hcl (the ConfigMap); a case with
self-init also has ``<case>.config-init.hcl``, the ``initialize`` blocks (the Secret ``<name>-config-init``).
Regenerate after an intended change with
``UPDATE_GOLDEN=1 uv run pytest tests/unit/render/test_config_golden.py`` and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from openbao_operator.cli.main import main
from openbao_operator.render.config import ConfigRenderError, RenderedConfig, render_config
from openbao_operator.render.facts import RenderFacts
from tests.unit.render.config_cases import ERRORS, GOLDEN, SECRETS, cluster

GOLDEN_DIR = Path(__file__).parent / "golden" / "config"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


SELF_INIT_SUFFIX = ".config-init"


def _rendered(doc: dict[str, Any]) -> RenderedConfig:
    c = cluster(doc)
    return render_config(c, facts=RenderFacts(namespace=c.metadata.namespace or "default"))


def _render(doc: dict[str, Any]) -> str:
    return _rendered(doc).text


def _check_golden(path: Path, text: str) -> None:
    if UPDATE:
        path.write_text(text)
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text()


@pytest.mark.parametrize("case", sorted(GOLDEN))
def test_golden(case: str) -> None:
    rendered = _rendered(GOLDEN[case])
    _check_golden(GOLDEN_DIR / f"{case}.hcl", rendered.text)
    assert "initialize" not in rendered.text
    init_path = GOLDEN_DIR / f"{case}{SELF_INIT_SUFFIX}.hcl"
    if rendered.self_init_text:
        _check_golden(init_path, rendered.self_init_text)
    else:
        assert not init_path.exists()
    for secret in SECRETS:
        assert secret not in rendered.text
        assert secret not in rendered.self_init_text


def test_every_golden_file_has_a_case() -> None:
    assert {p.stem.removesuffix(SELF_INIT_SUFFIX) for p in GOLDEN_DIR.glob("*.hcl")} == set(GOLDEN)


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_error_names_the_field(case: str) -> None:
    doc, field, phrase = ERRORS[case]
    with pytest.raises(ConfigRenderError) as info:
        _render(doc)
    assert info.value.field == field
    assert phrase in info.value.reason
    assert isinstance(info.value, ValueError)


def test_cli_prints_config_hcl(tmp_path: Path) -> None:
    import yaml

    doc = GOLDEN["minimal"]
    del doc["metadata"]["namespace"]
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(main, ["render", "-f", str(f), "--config-hcl", "--namespace", "prod"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (GOLDEN_DIR / "minimal.hcl").read_text()


def test_cli_render_error_is_one_line_naming_the_field(tmp_path: Path) -> None:
    import yaml

    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump(ERRORS["vendor-seal-2.7-without-plugin"][0]))
    result = CliRunner().invoke(main, ["render", "-f", str(f), "--config-hcl"])
    assert result.exit_code == 2
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "spec.unseal.kmsPlugin: required for unseal type awskms" in error
    assert "never-rendered" not in result.stderr
