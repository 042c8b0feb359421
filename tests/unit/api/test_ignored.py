"""Fields accepted for compatibility but not acted on are named, with the reason; a plain spec names none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from openbao_operator.api import parse_cluster
from openbao_operator.api.ignored import ignored_fields

EVERY_FIELD = Path(__file__).parents[2] / "data" / "valid" / "reference-every-field.yaml"


def _spec(**spec: Any) -> Any:
    base = {"version": "2.4.1", "tls": {"enabled": True}, "storage": {"size": "1Gi"}}
    return parse_cluster(
        {"apiVersion": "openbao.org/v1alpha1", "kind": "OpenBaoCluster", "metadata": {"name": "x"}, "spec": base | spec}
    ).spec


def test_plain_spec_ignores_nothing() -> None:
    assert ignored_fields(_spec()) == []


def test_reference_manifest_reports_what_it_sets_in_vain() -> None:
    spec = parse_cluster(yaml.safe_load(EVERY_FIELD.read_text())).spec
    paths = [f.path for f in ignored_fields(spec)]
    assert "spec.initContainer" in paths
    assert "spec.unseal.transit" in paths  # type is static, so the transit block is unused
    assert "spec.unseal.static" not in paths
    assert "spec.unseal.awskms.secretKey" in paths
    assert "spec.operatorImageVerification" in paths
    assert "spec.breakGlassAck" in paths


def test_inline_secret_is_reported_with_the_secret_key_to_use() -> None:
    spec = _spec(
        unseal={
            "type": "transit",
            "transit": {"address": "https://t:8200", "keyName": "k", "mountPath": "transit/", "token": "s.x"},
        }
    )
    [field] = ignored_fields(spec)
    assert field.path == "spec.unseal.transit.token"
    assert "credentialsSecretRef" in field.reason
    assert "s.x" not in str(field)


def test_blue_green_and_unknown_upgrade_fields() -> None:
    spec = _spec(upgrade={"strategy": "BlueGreen", "jwtAuthRole": "upgrader"})
    assert [f.path for f in ignored_fields(spec)] == ["spec.upgrade.strategy", "spec.upgrade.jwtAuthRole"]


def test_backup_is_used_and_restore_needs_oidc() -> None:
    """spec.backup is scheduled by the operator (controller/backups.py); spec.restore's role is created only
    by selfInit.oidc."""
    spec = _spec(backup={"schedule": "0 3 * * *", "target": {"bucket": "b"}}, restore={"jwtAuthRole": "restorer"})
    assert [f.path for f in ignored_fields(spec)] == ["spec.restore"]


def test_options_openbao_does_not_have() -> None:
    spec = _spec(
        unseal={"type": "kmip", "kmip": {"address": "k:5696", "kmsKeyID": "1", "tlsSkipVerify": True}},
        selfInit={
            "enabled": True,
            "oidc": {"enabled": True},
            "requests": [{"name": "r", "operation": "update", "path": "sys/auth/k", "authMethod": {"type": "k"}}],
        },
    )
    assert [f.path for f in ignored_fields(spec)] == ["spec.unseal.kmip.tlsSkipVerify"]
