"""Pod security overrides that weaken the pod: refused under Hardened (tests/data/invalid/85-90), refused in every
profile when the pod could never start (83-84), and otherwise named in SecurityRisk and by `render` on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from openbao_operator.api import InvalidClusterError, parse_cluster
from openbao_operator.api.podsecurity import pod_security_risks
from openbao_operator.cli.main import main
from openbao_operator.controller.profile import judge_profile

UNSAFE = {
    "runAsNonRoot": False,
    "seccompProfile": {"type": "Unconfined"},
    "appArmorProfile": {"type": "Unconfined"},
    "seLinuxOptions": {"type": "spc_t", "user": "system_u", "role": "system_r"},
    "sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}, {"name": "kernel.msgmax", "value": "65536"}],
}
FIELDS = [
    "spec.securityContext.runAsNonRoot",
    "spec.securityContext.seccompProfile.type",
    "spec.securityContext.appArmorProfile.type",
    "spec.securityContext.seLinuxOptions.type",
    "spec.securityContext.seLinuxOptions.user",
    "spec.securityContext.seLinuxOptions.role",
    "spec.securityContext.sysctls",
]


def manifest(profile: str | None, context: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "version": "2.7.2",
        "tls": {"enabled": True},
        "storage": {"size": "1Gi"},
        "securityContext": context,
    }
    if profile is not None:
        spec["profile"] = profile
    return {"apiVersion": "openbao.org/v1alpha1", "kind": "OpenBaoCluster", "metadata": {"name": "psc"}, "spec": spec}


@pytest.mark.parametrize("profile", ["Development", None])
def test_development_names_every_unsafe_override(profile: str | None) -> None:
    cluster = parse_cluster(manifest(profile, UNSAFE))
    risks = pod_security_risks(cluster.spec)
    assert [r.split(":")[0] for r in risks] == FIELDS
    verdict = judge_profile(cluster)
    assert verdict.security_risk is not None
    for field in FIELDS:
        assert field in verdict.security_risk.message


def test_render_warns_on_stderr_and_still_renders(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(manifest("Development", UNSAFE)))
    result = CliRunner().invoke(main, ["render", "-f", str(path)])
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: psc: ")]
    for field in FIELDS:
        assert any(f"warning: psc: {field}: " in line for line in warnings), field
    assert "seccompProfile" in result.stdout  # rendered as asked: Development allows it


def test_safe_overrides_are_not_reported() -> None:
    safe = {
        "runAsUser": 1000,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/bao.json"},
        "appArmorProfile": {"type": "RuntimeDefault"},
        "seLinuxOptions": {"type": "container_t", "level": "s0:c123,c456"},
        "sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "32768 60999"}],
    }
    for profile in ("Hardened", "Development", None):
        doc = manifest(profile, safe)
        if profile == "Hardened":
            doc["spec"] |= {
                "replicas": 3,
                "tls": {"enabled": True, "mode": "External"},
                "unseal": {
                    "type": "transit",
                    "transit": {"address": "https://t:8200", "keyName": "k", "mountPath": "transit/"},
                },
                "selfInit": {"enabled": True, "requests": [{"name": "r", "operation": "read", "path": "sys/health"}]},
            }
        assert pod_security_risks(parse_cluster(doc).spec) == []


@pytest.mark.parametrize(
    ("context", "field"),
    [
        ({"runAsUser": 0}, "runAsUser"),
        ({"runAsUser": 0, "runAsNonRoot": False}, "runAsUser"),
        ({"windowsOptions": {"hostProcess": True}}, "windowsOptions.hostProcess"),
    ],
)
def test_what_can_never_start_is_refused_in_every_profile(context: dict[str, Any], field: str) -> None:
    for profile in ("Development", None):
        with pytest.raises(InvalidClusterError) as caught:
            parse_cluster(manifest(profile, context))
        assert caught.value.errors[0].path == f"spec.securityContext.{field}"
