"""The README's test command is red when a test skips, unless the developer opts out by hand.

Each case runs pytest in a subprocess on a throwaway test file with the project's skip policy plugin
(tests/skip_policy.py) loaded, exactly as tests/conftest.py loads it for the real suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]

SKIPS = """
import pytest
from tests.skip_policy import require

def test_passes():
    assert 1 + 1 == 2

def test_needs_a_capability():
    require(False, "network namespaces")

@pytest.mark.skipif(True, reason="a stray skipif")
def test_stray():
    pass
"""


def _pytest(tmp_path: Path, source: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(source)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "OPENBAO_TESTS_ALLOW_SKIP")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.skip_policy", "-p", "no:cacheprovider", "-rs", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        timeout=120,
    )


def test_a_missing_capability_fails_and_a_stray_skip_fails_the_run(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, SKIPS)
    assert proc.returncode == 1, proc.stdout
    assert "1 failed, 1 passed, 1 skipped" in proc.stdout
    assert "network namespaces; to run without it on purpose, set OPENBAO_TESTS_ALLOW_SKIP=1" in proc.stdout
    assert "1 skipped test(s) make this run fail" in proc.stdout
    assert "test_stray: a stray skipif" in proc.stdout


def test_the_explicit_opt_out_turns_them_into_reported_skips(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, SKIPS, OPENBAO_TESTS_ALLOW_SKIP="1")
    assert proc.returncode == 0, proc.stdout
    assert "1 passed, 2 skipped" in proc.stdout
    assert "2 test(s) skipped, allowed by OPENBAO_TESTS_ALLOW_SKIP=1" in proc.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_ci_ignores_the_opt_out(tmp_path: Path, ci: str) -> None:
    proc = _pytest(tmp_path, SKIPS, OPENBAO_TESTS_ALLOW_SKIP="1", CI=ci)
    assert proc.returncode == 1, proc.stdout
    assert "1 failed" in proc.stdout


def test_a_run_without_skips_is_green(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, "def test_ok():\n    assert True\n")
    assert proc.returncode == 0, proc.stdout


def test_the_suite_loads_the_policy_and_the_default_run_includes_integration_tests() -> None:
    conftest = (ROOT / "tests" / "conftest.py").read_text()
    assert 'pytest_plugins = ["tests.skip_policy"]' in conftest
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert options["testpaths"] == ["tests"]
    assert "-m" not in str(options.get("addopts", "")).split(), "the default run must not deselect by marker"
    script = (ROOT / "scripts" / "test.sh").read_text()
    assert 'uv run --frozen pytest "$@"' in script, "the README command runs plain pytest (all of tests/)"
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
