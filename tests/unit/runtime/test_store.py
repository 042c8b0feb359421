"""The informer's store: lookups by key and label, and what a relist changed."""

from __future__ import annotations

from typing import Any

from openbao_operator.kube import ObjectKey
from openbao_operator.runtime import Store


def _obj(name: str, rv: str, *, ns: str = "ns", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "resourceVersion": rv, "labels": labels or {}}}


def test_lookups() -> None:
    store = Store()
    store.upsert(_obj("a", "1", labels={"app": "x", "tier": "db"}))
    store.upsert(_obj("b", "1", ns="other", labels={"app": "x"}))
    assert store.get(ObjectKey("ns", "a")) is not None
    assert store.get(ObjectKey("other", "a")) is None
    assert [o["metadata"]["name"] for o in store.list(labels={"app": "x"})] == ["a", "b"]
    assert [o["metadata"]["name"] for o in store.list(namespace="other")] == ["b"]
    assert store.list(labels={"app": "x", "tier": "web"}) == []


def test_replace_reports_adds_updates_and_deletes() -> None:
    store = Store()
    store.replace([_obj("keep", "1"), _obj("change", "1"), _obj("gone", "1")])
    changes = store.replace([_obj("keep", "1"), _obj("change", "2"), _obj("new", "1")])
    assert [o["metadata"]["name"] for o in changes.added] == ["new"]
    assert [
        (old["metadata"]["resourceVersion"], new["metadata"]["resourceVersion"]) for old, new in changes.updated
    ] == [("1", "2")]
    assert [o["metadata"]["name"] for o in changes.deleted] == ["gone"]
    assert sorted(k.name for k in store.object_keys()) == ["change", "keep", "new"]
