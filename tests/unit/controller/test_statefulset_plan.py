"""Immutable StatefulSet fields: recreate, expand, or refuse; never an update the API server would reject."""

from __future__ import annotations

import copy
from typing import Any

from openbao_operator.controller.statefulset import plan_statefulset


def sts(*, size: str = "1Gi", sc: str | None = None, pmp: str | None = "Parallel", **spec: Any) -> dict[str, Any]:
    vct_spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if sc:
        vct_spec["storageClassName"] = sc
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "bao", "namespace": "ns"},
        "spec": {
            "serviceName": "bao",
            "selector": {"matchLabels": {"app": "bao"}},
            "volumeClaimTemplates": [
                {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"}, "spec": vct_spec}
            ],
            **spec,
        },
    }
    if pmp:
        body["spec"]["podManagementPolicy"] = pmp
    return body


def live_of(desired: dict[str, Any]) -> dict[str, Any]:
    """As the API server returns it: defaults added, apiVersion/kind of templates dropped, a status."""
    live = copy.deepcopy(desired)
    for t in live["spec"]["volumeClaimTemplates"]:
        t.pop("apiVersion")
        t.pop("kind")
        t["spec"]["volumeMode"] = "Filesystem"
        t["status"] = {"phase": "Pending"}
    live["spec"].setdefault("podManagementPolicy", "OrderedReady")
    return live


def test_absent_or_equal_needs_nothing() -> None:
    assert plan_statefulset(sts(), None, expansion_allowed=None).recreate == ()
    plan = plan_statefulset(sts(), live_of(sts()), expansion_allowed=None)
    assert plan.recreate == ()
    assert plan.refusal is None
    assert plan.expand_to is None


def test_reference_ordered_ready_statefulset_is_recreated() -> None:
    plan = plan_statefulset(sts(), live_of(sts(pmp=None)), expansion_allowed=None)
    assert plan.recreate == ("podManagementPolicy",)


def test_selector_and_service_name_changes_are_recreated() -> None:
    live = live_of(sts(serviceName="old"))
    live["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    assert set(plan_statefulset(sts(), live, expansion_allowed=None).recreate) == {"selector", "serviceName"}


def test_growth_expands_when_the_class_allows_it() -> None:
    plan = plan_statefulset(sts(size="2Gi"), live_of(sts(size="1Gi")), expansion_allowed=True)
    assert plan.expand_to == "2Gi"
    assert plan.recreate == ("volumeClaimTemplates",)
    assert plan.refusal is None


def test_growth_refused_without_expansion_keeps_live_templates() -> None:
    live = live_of(sts(size="1Gi"))
    plan = plan_statefulset(sts(size="2Gi"), live, expansion_allowed=False)
    assert plan.refusal is not None
    assert plan.refusal.reason == "StorageResizeNotSupported"
    assert plan.recreate == ()
    vct = plan.desired["spec"]["volumeClaimTemplates"][0]
    assert vct["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert "status" not in vct


def test_shrink_and_class_change_are_refused() -> None:
    shrink = plan_statefulset(sts(size="1Gi"), live_of(sts(size="1024Mi")), expansion_allowed=True)
    assert shrink.refusal is None, "1Gi == 1024Mi"
    shrink = plan_statefulset(sts(size="500Mi"), live_of(sts(size="1Gi")), expansion_allowed=True)
    assert shrink.refusal is not None
    assert shrink.refusal.reason == "StorageShrinkNotSupported"
    assert "spec.storage.size" in shrink.refusal.message
    moved = plan_statefulset(sts(sc="fast"), live_of(sts(sc="slow")), expansion_allowed=True)
    assert moved.refusal is not None
    assert moved.refusal.reason == "StorageClassChangeNotSupported"
    assert moved.recreate == ()


def test_refusal_does_not_hide_other_immutable_changes() -> None:
    plan = plan_statefulset(sts(size="500Mi"), live_of(sts(size="1Gi", pmp=None)), expansion_allowed=None)
    assert plan.refusal is not None
    assert plan.recreate == ("podManagementPolicy",)
