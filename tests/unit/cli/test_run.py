"""`openbao-operator run`: settings from OPENBAO_OPERATOR_* and what bad settings do."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from openbao_operator.cli.main import main
from openbao_operator.cli.settings import OperatorSettings


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
