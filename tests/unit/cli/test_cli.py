"""The command line: crd output, render's validation and exit codes, run's skeleton."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from openbao_operator.cli.main import main

ROOT = Path(__file__).parents[3]
VALID = ROOT / "tests" / "data" / "valid" / "reference-every-field.yaml"


def test_crd_prints_the_committed_crd() -> None:
    result = CliRunner().invoke(main, ["crd"])
    assert result.exit_code == 0
    assert result.output == (ROOT / "deploy" / "crd.yaml").read_text()


def test_render_prints_the_defaulted_cluster() -> None:
    result = CliRunner().invoke(main, ["render", "-f", str(VALID), "--defaults"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("---\napiVersion: openbao.org/v1alpha1\nkind: OpenBaoCluster\n")


def test_render_is_stable() -> None:
    first = CliRunner().invoke(main, ["render", "-f", str(VALID)]).stdout
    assert first == CliRunner().invoke(main, ["render", "-f", str(VALID)]).stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("spec: [", "not valid YAML"),
        ("apiVersion: v1\nkind: ConfigMap\n", "no OpenBaoCluster document found"),
        (
            "apiVersion: openbao.org/v1alpha1\nkind: OpenBaoCluster\nmetadata: {name: x}\n"
            "spec: {version: 2.4.1, replicas: 0, tls: {enabled: true}, storage: {size: 1Gi}}\n",
            "spec.replicas: ",
        ),
    ],
)
def test_invalid_input_exits_2_with_one_line(tmp_path: Path, content: str, expected: str) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "openbao_operator.cli", "render", "-f", str(manifest)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0]


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["render", "-f", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_render_warns_about_ignored_fields_on_stderr() -> None:
    result = CliRunner().invoke(main, ["render", "-f", str(VALID)])
    assert "warning: everything: spec.initContainer: " in result.stderr
    assert "warning" not in result.stdout


def test_crd_prints_every_committed_crd() -> None:
    result = CliRunner().invoke(main, ["crd"])
    assert result.exit_code == 0
    assert result.output == (ROOT / "deploy" / "crd.yaml").read_text()
    assert "kind: OpenBaoRestore" in result.output


OIDC_ONLY = ROOT / "tests" / "data" / "compat" / "a38-self-init-oidc-only.yaml"


def test_render_of_self_init_oidc_needs_the_issuer_keys(tmp_path: Path) -> None:
    refused = CliRunner().invoke(main, ["render", "-f", str(OIDC_ONLY), "--config-hcl"])
    assert refused.exit_code == 2
    assert "spec.selfInit.oidc.enabled" in refused.stderr
    assert "--service-account-jwks" in refused.stderr
    import base64
    import json

    from cryptography.hazmat.primitives.asymmetric import rsa

    n = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers().n
    jwk = {"kty": "RSA", "e": "AQAB", "n": base64.urlsafe_b64encode(n.to_bytes(256, "big")).rstrip(b"=").decode()}
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    result = CliRunner().invoke(
        main, ["render", "-f", str(OIDC_ONLY), "--config-hcl", "--service-account-jwks", str(tmp_path / "jwks.json")]
    )
    assert result.exit_code == 0, result.output
    assert '"sys/auth/jwt-operator"' in result.stdout
    assert "-----BEGIN PUBLIC KEY-----\\n" in result.stdout
