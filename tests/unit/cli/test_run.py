"""`openbao-operator run`: settings from OPENBAO_OPERATOR_* and what bad settings do."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from openbao_operator.cli.main import main
from openbao_operator.cli.settings import InvalidSettingsError, OperatorSettings


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBAO_OPERATOR_WATCH_NAMESPACE", " team-a, team-b ,")
    monkeypatch.setenv("OPENBAO_OPERATOR_PROBE_ADDRESS", "127.0.0.1:9090")
    monkeypatch.setenv("OPENBAO_OPERATOR_WORKERS", "8")
    monkeypatch.setenv("POD_NAME", "openbao-operator-abc")
    monkeypatch.setenv("POD_NAMESPACE", "ops")
    settings = OperatorSettings()
    assert settings.namespaces() == ["team-a", "team-b"]
    assert settings.probe_host_port() == ("127.0.0.1", 9090)
    assert settings.workers == 8
    assert settings.identity == "openbao-operator-abc"
    assert settings.namespace == "ops"
    assert settings.lease_namespace is None


def test_defaults_are_cluster_wide_with_leader_election(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENBAO_OPERATOR_WATCH_NAMESPACE", "POD_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    settings = OperatorSettings()
    assert settings.namespaces() == []
    assert settings.leader_election is True
    assert settings.namespace == "openbao-operator-system"
    assert settings.probe_host_port() == ("0.0.0.0", 8080)  # noqa: S104 - the default, for the kubelet


def test_invalid_settings_exit_2_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBAO_OPERATOR_WORKERS", "0")
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 2
    assert "workers" in result.output


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("WORKERS", "8", 8),
        ("workers", " 8", 8),  # names in any case; a value pydantic coerces is pydantic's
        ("LEADER_ELECTION", "off", False),
        ("LEADER_ELECTION", "True", True),
        ("LEASE_DURATION", "1e3", 1000.0),
        ("LEASE_DURATION", "2.5", 2.5),
        ("KUBECONFIG", "", ""),
        ("LOG_FORMAT", "console", "console"),
    ],
)
def test_settings_values_are_pydantics(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: object
) -> None:
    monkeypatch.setenv(f"OPENBAO_OPERATOR_{name}", value)
    got = getattr(OperatorSettings(), name.lower())
    assert got == expected
    assert type(got) is type(expected)


def test_keywords_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBAO_OPERATOR_WORKERS", "8")
    monkeypatch.setenv("OPENBAO_OPERATOR_LEASE_DURATION", "9")
    settings = OperatorSettings(workers=2, renew_deadline=4, unknown="ignored")
    assert (settings.workers, settings.lease_duration, settings.renew_deadline) == (2, 9.0, 4.0)
    assert type(settings.renew_deadline) is float


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WORKERS", "65", "Input should be less than or equal to 64"),
        ("RESYNC_SECONDS", "0", "Input should be greater than 0"),
        ("LOG_FORMAT", "JSON", "Input should be 'json' or 'console'"),
        ("LEADER_ELECTION", "maybe", "Input should be a valid boolean"),
    ],
)
def test_invalid_settings_message_is_pydantics(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(f"OPENBAO_OPERATOR_{name}", value)
    with pytest.raises(InvalidSettingsError) as raised:
        OperatorSettings()
    assert str(raised.value).startswith(f"1 validation error for OperatorSettings\n{name.lower()}\n  {message}")


def test_start_path_imports_no_models_nor_pydantic() -> None:
    """What `openbao-operator run` imports before its caches have synced (start → /readyz, issue 20): the
    models, the renderer, cryptography and pydantic load at the first reconcile."""
    code = (
        "import sys, openbao_operator.cli.main, openbao_operator.cli.operator, openbao_operator.cli.settings;"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    loaded = set(
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    )
    heavy = {
        "pydantic",
        "cryptography",
        "openbao_operator.api.cluster",
        "openbao_operator.render",
        "openbao_operator.pki",
    }
    assert "openbao_operator.cli.operator" in loaded
    assert heavy & loaded == set()
