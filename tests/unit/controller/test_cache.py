"""Cached objects keep what a reconcile reads and nothing else."""

from __future__ import annotations

from typing import Any

from openbao_operator.controller import cache_transform, kinds


def test_pods_keep_labels_ownership_and_phase_only() -> None:
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "bao-0",
            "namespace": "ns",
            "uid": "u",
            "resourceVersion": "7",
            "labels": {"openbao-initialized": "true"},
            "ownerReferences": [{"kind": "StatefulSet", "name": "bao", "uid": "s", "controller": True}],
            "managedFields": [{"manager": "kubelet"}],
            "annotations": {"big": "x" * 1000},
        },
        "spec": {"containers": [{"name": "openbao"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready"}]},
    }
    small = cache_transform(kinds.POD)(pod)
    assert small["metadata"] == {k: v for k, v in pod["metadata"].items() if k not in ("managedFields", "annotations")}
    assert small["status"] == {"phase": "Running"}
    assert "spec" not in small
    assert pod["metadata"]["managedFields"], "the informer's input is not modified"


def test_applied_kinds_lose_managed_fields_only() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "managedFields": [{}]}, "data": {"a": "b"}}
    assert cache_transform(kinds.CONFIGMAP)(cm) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"a": "b"},
    }
