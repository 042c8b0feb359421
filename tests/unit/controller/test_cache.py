"""Cached objects keep what a reconcile reads and nothing else."""

from __future__ import annotations

from typing import Any

from openbao_operator.controller import cache_transform, kinds
from openbao_operator.controller.cache import expand


def test_pods_keep_labels_ownership_phase_ip_and_readiness_only() -> None:
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
        "status": {
            "phase": "Running",
            "podIP": "10.0.0.1",
            "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "False", "x": 1}],
            "containerStatuses": [{"name": "openbao"}],
        },
    }
    small = cache_transform(kinds.POD)(pod)
    assert small["metadata"] == {k: v for k, v in pod["metadata"].items() if k not in ("managedFields", "annotations")}
    assert small["status"] == {
        "phase": "Running",
        "podIP": "10.0.0.1",
        "conditions": [{"type": "Ready", "status": "False"}],
    }
    assert "spec" not in small
    assert pod["metadata"]["managedFields"], "the informer's input is not modified"


def test_applied_kinds_are_cached_compact_and_expand_without_managed_fields() -> None:
    sts: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": "bao",
            "namespace": "ns",
            "resourceVersion": "9",
            "generation": 2,
            "labels": {"openbao.org/cluster": "bao"},
            "annotations": {"openbao.org/applied-hash": "h"},
            "finalizers": ["f"],
            "managedFields": [{"manager": "openbao-operator"}],
        },
        "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "openbao"}]}}},
        "status": {"readyReplicas": 3},
    }
    entry = cache_transform(kinds.STATEFULSET)(sts)
    assert "spec" not in entry, "the body is compressed"
    assert entry["metadata"]["labels"] == sts["metadata"]["labels"], "handlers still see labels"
    assert "annotations" not in entry["metadata"], "children keep what owner mapping and lists read"
    assert "managedFields" not in entry["metadata"]
    cluster = {**sts, "apiVersion": "openbao.org/v1alpha1", "kind": "OpenBaoCluster"}
    owner = cache_transform(kinds.CLUSTER)(cluster)
    assert owner["metadata"]["generation"] == 2, "the cluster keeps what meaningful_update compares"
    assert owner["metadata"]["finalizers"] == ["f"]
    assert owner["metadata"]["annotations"] == {"openbao.org/applied-hash": "h"}
    full = expand(entry)
    assert full is not None
    assert full["spec"] == sts["spec"]
    assert full["status"] == sts["status"]
    assert "managedFields" not in full["metadata"]
    assert expand(None) is None
    plain = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
    assert expand(plain) is plain


def test_children_of_a_cluster_share_their_label_set_and_owner_references() -> None:
    def child(kind: str, name: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {
                "name": name,
                "namespace": "team",
                "labels": {"openbao.org/cluster": "bao", "app.kubernetes.io/instance": "bao"},
                "ownerReferences": [
                    {"apiVersion": "openbao.org/v1alpha1", "kind": "OpenBaoCluster", "name": "bao", "uid": "u-1"}
                ],
            },
        }

    a = cache_transform(kinds.SERVICE)(child("Service", "bao"))
    b = cache_transform(kinds.CONFIGMAP)(child("ConfigMap", "bao-config"))
    other = cache_transform(kinds.SERVICE)(
        {**child("Service", "x"), "metadata": {**child("Service", "x")["metadata"], "labels": {"a": "b"}}}
    )
    assert a["metadata"]["labels"] is b["metadata"]["labels"]
    assert a["metadata"]["ownerReferences"] is b["metadata"]["ownerReferences"]
    assert a["metadata"]["labels"] == child("Service", "bao")["metadata"]["labels"]
    assert a["metadata"]["ownerReferences"] == child("Service", "bao")["metadata"]["ownerReferences"]
    assert other["metadata"]["labels"] == {"a": "b"}
    assert expand(a) == child("Service", "bao")  # what a reconcile reads is its own copy


def test_unhashable_label_values_are_kept_as_they_are() -> None:
    hostile = {"metadata": {"name": "x", "namespace": "team", "labels": {"k": ["v"]}, "ownerReferences": [{"a": {}}]}}
    entry = cache_transform(kinds.SERVICE)({"apiVersion": "v1", "kind": "Service", **hostile})
    assert entry["metadata"]["labels"] == {"k": ["v"]}
    assert entry["metadata"]["ownerReferences"] == [{"a": {}}]
