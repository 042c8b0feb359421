"""Valid manifests parse, keep every field through load → dump → load, and get the documented defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from openbao_operator.api import OpenBaoCluster, parse_cluster

DATA = Path(__file__).parents[2] / "data" / "valid"
FILES = sorted(DATA.glob("*.yaml"))


def _contains(big: Any, small: Any, path: str = "") -> list[str]:
    """Paths where `small` has something `big` lacks or differs (big may have more, e.g. defaults)."""
    if isinstance(small, dict):
        if not isinstance(big, dict):
            return [path]
        missing = []
        for key, value in small.items():
            if key not in big:
                missing.append(f"{path}.{key}")
            else:
                missing += _contains(big[key], value, f"{path}.{key}")
        return missing
    if isinstance(small, list):
        if not isinstance(big, list) or len(big) != len(small):
            return [path]
        return [m for i, (b, s) in enumerate(zip(big, small, strict=True)) for m in _contains(b, s, f"{path}[{i}]")]
    return [] if big == small else [f"{path}: {big!r} != {small!r}"]


def test_there_are_valid_manifests() -> None:
    assert any(p.name == "reference-every-field.yaml" for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_round_trip_without_loss(path: Path) -> None:
    manifest = yaml.safe_load(path.read_text())
    first = parse_cluster(manifest)
    dumped = first.to_json()
    assert _contains(dumped, manifest) == []
    second = parse_cluster(yaml.safe_load(yaml.safe_dump(dumped)))
    assert second == first
    assert second.to_json() == dumped


def test_every_spec_field_of_the_reference_is_used() -> None:
    """The reference manifest sets every top-level spec field that the reference operator reads."""
    manifest = yaml.safe_load((DATA / "reference-every-field.yaml").read_text())
    reference_fields = {
        "version", "image", "imagePullSecrets", "replicas", "paused", "maintenance", "initContainer", "tls",
        "unseal", "storage", "service", "ingress", "gateway", "network", "configuration", "audit", "plugins",
        "telemetry", "observability", "selfInit", "profile", "serviceAccount", "securityContext",
        "workloadHardening", "imageVerification", "operatorImageVerification", "deletionPolicy", "upgrade",
    }  # fmt: skip
    assert reference_fields <= set(manifest["spec"])


def test_defaults_match_the_reference() -> None:
    cluster = parse_cluster(
        {
            "apiVersion": "openbao.org/v1alpha1",
            "kind": "OpenBaoCluster",
            "metadata": {"name": "d"},
            "spec": {
                "version": "2.4.1",
                "tls": {"enabled": True},
                "storage": {"size": "1Gi"},
                "unseal": {"static": {}},
                "configuration": {},
                "ingress": {"enabled": True, "host": "bao.example.com"},
                "gateway": {"backendTLS": {}},
                "imageVerification": {"enabled": False},
                "initContainer": {},
                "network": {},
                "upgrade": {},
                "selfInit": {},
                "observability": {"metrics": {"serviceMonitor": {}}},
            },
        }
    )
    spec = cluster.spec
    assert spec.replicas == 3
    assert spec.tls.mode == "OperatorManaged"
    assert spec.unseal is not None
    assert spec.unseal.type == "static"
    assert spec.unseal.static is not None
    assert spec.unseal.static.current_key == "file:///etc/bao/unseal/key"
    assert spec.unseal.static.current_key_id == "operator-generated-v1"
    assert spec.configuration is not None
    assert spec.configuration.ui is True
    assert spec.configuration.log_level == "info"
    assert spec.ingress is not None
    assert spec.ingress.path == "/"
    assert spec.gateway is not None
    assert spec.gateway.backend_tls is not None
    assert spec.gateway.backend_tls.enabled
    assert spec.image_verification is not None
    assert spec.image_verification.failure_policy == "Block"
    assert spec.init_container is not None
    assert spec.init_container.enabled is True
    assert spec.network is not None
    assert spec.network.dns_namespace == "kube-system"
    assert spec.upgrade is not None
    assert spec.upgrade.strategy == "RollingUpdate"
    assert spec.self_init is not None
    assert spec.self_init.enabled is False
    assert spec.deletion_policy == "Retain"
    monitor = spec.observability.metrics.service_monitor  # type: ignore[union-attr]
    assert monitor is not None
    assert (monitor.enabled, monitor.interval, monitor.scrape_timeout) == (True, "30s", "10s")


def test_models_are_immutable() -> None:
    cluster = OpenBaoCluster.model_validate(
        {
            "apiVersion": "openbao.org/v1alpha1",
            "kind": "OpenBaoCluster",
            "metadata": {"name": "d"},
            "spec": {"version": "2.4.1", "tls": {"enabled": False}, "storage": {"size": "1Gi"}},
        }
    )
    with pytest.raises(ValueError, match="frozen"):
        cluster.spec.replicas = 5  # type: ignore[misc]
