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


def test_label_lists_follow_every_change() -> None:
    """Lists by label go through an index built at the first such list; every write keeps it exact."""
    store = Store()
    store.upsert(_obj("a", "1", labels={"cluster": "one", "app": "x"}))
    store.upsert(_obj("b", "1", labels={"cluster": "two", "app": "x"}))

    def names(**labels: str) -> list[str]:
        return [o["metadata"]["name"] for o in store.list(namespace="ns", labels=labels)]

    assert names(cluster="one") == ["a"]
    store.upsert(_obj("c", "1", labels={"cluster": "one"}))
    store.upsert(_obj("b", "2", labels={"cluster": "one", "app": "y"}))  # relabelled
    assert names(cluster="one") == ["a", "c", "b"]
    assert names(cluster="two") == []
    assert names(cluster="one", app="x") == ["a"]
    store.delete(_obj("a", "1"))
    assert names(cluster="one") == ["c", "b"]
    store.replace([_obj("d", "1", labels={"cluster": "one"}), _obj("c", "2")])
    assert names(cluster="one") == ["d"]
    assert names(app="y") == []
    assert [o["metadata"]["name"] for o in store.list(labels={"cluster": "one"})] == ["d"]


def test_label_lists_equal_a_scan() -> None:
    import random

    rng = random.Random(7)
    store = Store()
    for step in range(400):
        name, rv = f"o{rng.randrange(30)}", str(step)
        labels = {k: rng.choice(["p", "q"]) for k in ("cluster", "app") if rng.random() < 0.8}
        if rng.random() < 0.2:
            store.delete(_obj(name, rv))
        else:
            store.upsert(_obj(name, rv, ns=rng.choice(["ns", "other"]), labels=labels))
        want = {"cluster": rng.choice(["p", "q"])} if rng.random() < 0.5 else {"cluster": "p", "app": "q"}
        scan = [o for o in store if all(o["metadata"]["labels"].get(k) == v for k, v in want.items())]
        assert sorted(map(id, store.list(labels=want))) == sorted(map(id, scan))
