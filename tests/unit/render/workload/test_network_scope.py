"""Who may reach the API port (8200) beyond the peers and the operator: scoped, and "anywhere" only when explicit
or when nothing narrower is known (then said so).

Before: an Ingress, a NodePort/LoadBalancer Service or ACME added an any-source 8200 rule that made the user's
narrower `network.ingressRules` meaningless.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from openbao_operator.api import names, parse_cluster
from openbao_operator.cli.main import main
from openbao_operator.controller.profile import judge_profile
from openbao_operator.render.warnings import security_warnings
from openbao_operator.render.workload.networkpolicy import network_policy

from .cases import facts, manifest

INGRESS = {"enabled": True, "host": "bao.example.com"}
ACME = {"enabled": True, "mode": "ACME", "acme": {"directoryURL": "https://acme.example/dir"}}
USER_RULE = {
    "from": [{"ipBlock": {"cidr": "10.20.0.0/16"}}],
    "ports": [{"protocol": "TCP", "port": 8200}],
}
FLAG = "spec.network.allowAPIFromAnywhere"


def ingress_rules(**spec: Any) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = network_policy(parse_cluster(manifest(**spec)), facts())["spec"]["ingress"]
    return rules


def any_source(rules: list[dict[str, Any]]) -> bool:
    """A rule with no `from` admits every source on its ports."""
    return any("from" not in rule for rule in rules)


def warnings_of(**spec: Any) -> list[str]:
    return security_warnings(parse_cluster(manifest(**spec)))


ENTRY_POINTS: dict[str, dict[str, Any]] = {
    "ingress": {"ingress": INGRESS},
    "load-balancer": {"service": {"type": "LoadBalancer"}},
    "node-port": {"service": {"type": "NodePort"}},
    "acme": {"tls": ACME},
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_the_users_ingress_rules_are_the_scope(entry: str) -> None:
    rules = ingress_rules(**ENTRY_POINTS[entry], network={"ingressRules": [USER_RULE]})
    assert not any_source(rules)
    assert rules[-1] == USER_RULE
    assert not [w for w in warnings_of(**ENTRY_POINTS[entry], network={"ingressRules": [USER_RULE]}) if FLAG in w]


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_unscoped_entry_points_keep_any_source_and_say_so(entry: str) -> None:
    """What worked before still works (a default Ingress controller still gets through), but not silently."""
    assert any_source(ingress_rules(**ENTRY_POINTS[entry]))
    [warning] = [w for w in warnings_of(**ENTRY_POINTS[entry]) if FLAG in w]
    assert "any source" in warning
    assert "spec.network.ingressRules" in warning


def test_ingress_controller_namespace_scopes_the_ingress() -> None:
    rules = ingress_rules(ingress={**INGRESS, "controllerNamespace": "ingress-nginx"})
    assert not any_source(rules)
    scoped = {
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
        "ports": [{"protocol": "TCP", "port": names.API_PORT}],
    }
    assert scoped in rules
    assert not warnings_of(ingress={**INGRESS, "controllerNamespace": "ingress-nginx"})


def test_a_scoped_ingress_does_not_scope_a_load_balancer() -> None:
    spec: dict[str, Any] = {
        "ingress": {**INGRESS, "controllerNamespace": "ingress-nginx"},
        "service": {"type": "LoadBalancer"},
    }
    assert any_source(ingress_rules(**spec))
    [warning] = warnings_of(**spec)
    assert "LoadBalancer" in warning
    assert "spec.ingress" not in warning.split(":", 1)[1].split(";")[0]


def test_anywhere_only_by_explicit_choice() -> None:
    assert any_source(ingress_rules(network={"allowAPIFromAnywhere": True}))
    assert not warnings_of(network={"allowAPIFromAnywhere": True}, service={"type": "LoadBalancer"})
    assert not any_source(ingress_rules(network={"allowAPIFromAnywhere": False}, service={"type": "LoadBalancer"}))
    assert not any_source(ingress_rules())  # nothing asks for outside clients: no any-source rule, as before


def test_hardened_reports_an_implicit_any_source_rule() -> None:
    doc = manifest(
        profile="Hardened",
        tls=ACME,
        unseal={"type": "transit", "transit": {"address": "https://t:8200", "keyName": "k", "mountPath": "transit/"}},
        selfInit={"enabled": True, "requests": [{"name": "r", "operation": "read", "path": "sys/health"}]},
    )
    verdict = judge_profile(parse_cluster(doc))
    assert verdict.security_risk is not None
    assert verdict.security_risk.status == "True"
    assert verdict.security_risk.reason == "APIOpenToAnySource"
    assert FLAG in verdict.security_risk.message
    doc["spec"]["network"] = {"allowAPIFromAnywhere": True}
    assert judge_profile(parse_cluster(doc)).security_risk is None


def test_render_prints_the_warning(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(manifest(service={"type": "LoadBalancer"})))
    result = CliRunner().invoke(main, ["render", "-f", str(path)])
    assert result.exit_code == 0, result.stderr
    assert f"warning: bao: {FLAG}: " in result.stderr
