"""Child events map to the owner's key: by controller ownerReference, else by label; nothing otherwise."""

from __future__ import annotations

from typing import Any

from openbao_operator.kube import ObjectKey
from openbao_operator.runtime import (
    Event,
    OwnerMapper,
    Touched,
    enqueue_owner,
    enqueue_self,
    meaningful_update,
    same_apart_from_version,
)

MAPPER = OwnerMapper(owner_group="example.org", owner_kind="Thing", label="example.org/thing")


def _child(*, refs: list[dict[str, Any]] | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "child", "namespace": "ns", "ownerReferences": refs or [], "labels": labels or {}}}


def _ref(name: str, *, controller: bool = True, kind: str = "Thing", api: str = "example.org/v1") -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "name": name, "uid": "u", "controller": controller}


def test_controller_owner_reference_wins() -> None:
    child = _child(refs=[_ref("other", controller=False), _ref("mine")], labels={"example.org/thing": "label"})
    assert MAPPER(child) == ObjectKey("ns", "mine")


def test_other_kinds_groups_and_non_controllers_are_ignored() -> None:
    assert MAPPER(_child(refs=[_ref("a", kind="ReplicaSet")])) is None
    assert MAPPER(_child(refs=[_ref("a", api="other.org/v1")])) is None
    assert MAPPER(_child(refs=[_ref("a", controller=False)])) is None


def test_label_fallback() -> None:
    assert MAPPER(_child(labels={"example.org/thing": "bao"})) == ObjectKey("ns", "bao")
    assert OwnerMapper(owner_group="example.org", owner_kind="Thing")(_child(labels={"example.org/thing": "x"})) is None


class _Recorder:
    def __init__(self) -> None:
        self.keys: list[ObjectKey] = []

    def add(self, key: ObjectKey, /) -> None:
        self.keys.append(key)


def test_owner_change_queues_both_owners() -> None:
    queue = _Recorder()
    handler = enqueue_owner(queue, MAPPER)
    old = _child(labels={"example.org/thing": "a"})
    new = _child(labels={"example.org/thing": "b"})
    handler(Event("MODIFIED", new, old=old))
    handler(Event("ADDED", _child()))
    assert queue.keys == [ObjectKey("ns", "b"), ObjectKey("ns", "a")]


def test_status_only_updates_are_filtered() -> None:
    queue = _Recorder()
    handler = enqueue_self(queue, predicate=meaningful_update)
    meta: dict[str, Any] = {"name": "x", "namespace": "ns", "generation": 1}
    base = {"metadata": meta, "status": {"phase": "A"}}
    status_only = {**base, "status": {"phase": "B"}}
    spec_change = {**base, "metadata": {**meta, "generation": 2}}
    handler(Event("MODIFIED", status_only, old=base))
    handler(Event("MODIFIED", spec_change, old=base))
    handler(Event("DELETED", base, old=base))
    assert queue.keys == [ObjectKey("ns", "x"), ObjectKey("ns", "x")]


def test_touched_says_once_whether_an_event_queued_the_key() -> None:
    queued: list[ObjectKey] = []

    class Queue:
        def add(self, key: ObjectKey, /) -> None:
            queued.append(key)

    touched = Touched()
    marking = touched.marking(Queue())
    handle = enqueue_owner(marking, MAPPER)
    handle(Event("MODIFIED", _child(refs=[_ref("mine")])))
    assert queued == [ObjectKey("ns", "mine")]
    assert touched.take(ObjectKey("ns", "mine")) is True
    assert touched.take(ObjectKey("ns", "mine")) is False  # a later pass without an event: a timer's
    assert touched.take(ObjectKey("ns", "other")) is False


def test_an_update_of_nothing_the_cache_keeps_is_told_apart() -> None:
    def pod(rv: str, *, phase: str = "Pending", labels: dict[str, str] | None = None) -> dict[str, Any]:
        meta = {"name": "p", "namespace": "ns", "resourceVersion": rv, "labels": labels or {"a": "b"}}
        return {"kind": "Pod", "metadata": meta, "status": {"phase": phase}}

    assert same_apart_from_version(Event("MODIFIED", pod("2"), old=pod("1"))) is True
    assert same_apart_from_version(Event("MODIFIED", pod("2", phase="Running"), old=pod("1"))) is False
    assert same_apart_from_version(Event("MODIFIED", pod("2", labels={"a": "c"}), old=pod("1"))) is False
    assert same_apart_from_version(Event("MODIFIED", {**pod("2"), "spec": {}}, old=pod("1"))) is False
    assert same_apart_from_version(Event("ADDED", pod("2"))) is False
    assert same_apart_from_version(Event("MODIFIED", pod("2"))) is False
    assert same_apart_from_version(Event("DELETED", pod("2"), old=pod("2"))) is False
