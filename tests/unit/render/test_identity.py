"""spec.selfInit.oidc renders the operator's identity: JWT auth, minimal policies, exactly bound roles."""

from __future__ import annotations

import base64
from typing import Any

import hcl2
import pytest

from openbao_operator.render.config import ConfigRenderError, render_config
from openbao_operator.render.config.identity import (
    BACKUP_POLICY,
    OPERATOR_POLICY,
    RESTORE_POLICY,
    UPGRADE_POLICY,
)
from openbao_operator.render.facts import RenderFacts
from tests import compat
from tests.unit.render.config_cases import cluster, manifest

IDENTITY = compat.operator_identity()


def _requests(doc: dict[str, Any], *, identity: Any = IDENTITY, operator_namespace: str = "ops") -> dict[str, Any]:
    text = render_config(
        cluster(doc),
        facts=RenderFacts(namespace="prod", operator_namespace=operator_namespace, operator_identity=identity),
    ).self_init_text
    parsed = hcl2.loads(text)
    blocks = parsed["initialize"]
    ((label, body),) = blocks[0].items()
    assert label.strip('"') == "operator-bootstrap"  # first: the user's requests may rely on it
    out: dict[str, Any] = {}
    for request in body["request"]:
        ((name, fields),) = request.items()
        out[name.strip('"')] = fields
    return out


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace("\\n", "\n")
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, dict):
        return {k.strip('"'): _unquote(v) for k, v in value.items()}
    return value


def _doc(**spec: Any) -> dict[str, Any]:
    return manifest(name="bao", namespace="prod", selfInit={"enabled": True, "oidc": {"enabled": True}}, **spec)


def test_bootstrap_requests_and_bindings() -> None:
    reqs = {k: _unquote(v) for k, v in _requests(_doc()).items()}
    assert list(reqs) == [
        "enable-jwt-auth",
        "config-jwt-auth",
        "create-operator-policy",
        "create-operator-role",
        "create-upgrade-policy",
        "create-upgrade-jwt-role",
        "create-restore-policy",
        "create-restore-jwt-role",
    ]  # no backup role without spec.backup
    assert reqs["enable-jwt-auth"]["path"] == "sys/auth/jwt-operator"
    config = reqs["config-jwt-auth"]["data"]
    assert config["bound_issuer"] == IDENTITY.issuer
    assert config["jwt_validation_pubkeys"] == list(IDENTITY.pubkeys_pem)  # PEM, newlines intact
    role = reqs["create-operator-role"]
    assert role["path"] == "auth/jwt-operator/role/openbao-operator"
    assert role["data"] == {
        "role_type": "jwt",
        "user_claim": "sub",
        "bound_subject": "system:serviceaccount:ops:openbao-operator",
        "bound_audiences": ["openbao-internal"],
        "token_policies": ["openbao-operator"],
        "token_no_default_policy": True,
        "token_ttl": "1h",
        "token_max_ttl": "1h",
    }
    assert reqs["create-restore-jwt-role"]["data"]["bound_subject"] == (
        "system:serviceaccount:prod:bao-restore-serviceaccount"
    )
    policy = reqs["create-operator-policy"]
    assert policy["path"] == "sys/policies/acl/openbao-operator"
    assert base64.b64decode(policy["data"]["policy"]).decode() == OPERATOR_POLICY


def test_backup_role_renames_and_overrides() -> None:
    doc = _doc(
        backup={"schedule": "0 3 * * *", "jwtAuthRole": "snap", "target": {"bucket": "b"}},
        restore={"jwtAuthRole": "back-in-time"},
        upgrade={"jwtAuthRole": "moves"},
    )
    doc["spec"]["selfInit"]["oidc"] |= {"audience": "bao-prod", "issuer": "https://issuer.example"}
    reqs = {k: _unquote(v) for k, v in _requests(doc).items()}
    assert reqs["create-backup-jwt-role"]["path"] == "auth/jwt-operator/role/snap"
    assert reqs["create-backup-jwt-role"]["data"]["token_policies"] == ["openbao-operator-backup"]
    assert reqs["create-backup-jwt-role"]["data"]["bound_subject"] == (
        "system:serviceaccount:prod:bao-backup-serviceaccount"
    )
    assert reqs["create-restore-jwt-role"]["path"] == "auth/jwt-operator/role/back-in-time"
    assert reqs["create-upgrade-jwt-role"]["path"] == "auth/jwt-operator/role/moves"
    assert all(r["data"]["bound_audiences"] == ["bao-prod"] for n, r in reqs.items() if n.endswith("role"))
    assert reqs["config-jwt-auth"]["data"]["bound_issuer"] == "https://issuer.example"


def test_policies_name_only_what_each_identity_calls() -> None:
    assert "snapshot-force" not in BACKUP_POLICY
    assert "step-down" not in BACKUP_POLICY
    assert '"update"' not in BACKUP_POLICY.split("revoke-self")[0]
    assert "snapshot" not in OPERATOR_POLICY
    assert "sys/mounts" not in OPERATOR_POLICY + BACKUP_POLICY + UPGRADE_POLICY + RESTORE_POLICY
    for policy in (OPERATOR_POLICY, BACKUP_POLICY, UPGRADE_POLICY, RESTORE_POLICY):
        assert "*" not in policy  # no globs: exact paths only
        assert 'path "auth/token/revoke-self"' in policy


def test_without_the_issuer_facts_an_uninitialised_cluster_is_not_rendered() -> None:
    with pytest.raises(ConfigRenderError) as err:
        render_config(cluster(_doc()), facts=RenderFacts(namespace="prod"))
    assert err.value.field == "spec.selfInit.oidc.enabled"
    assert "/openid/v1/jwks" in err.value.reason


def test_oidc_off_renders_no_bootstrap() -> None:
    doc = manifest(selfInit={"enabled": True, "requests": [{"name": "r", "operation": "update", "path": "sys/x",
                                                            "data": {"a": "b"}}]})  # fmt: skip
    text = render_config(cluster(doc), facts=RenderFacts(namespace="prod")).self_init_text
    assert "operator-bootstrap" not in text
    assert "jwt-operator" not in text
