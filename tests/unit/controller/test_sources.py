"""The reader serves our own writes until the informer cache has caught up with them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from openbao_operator import kube
from openbao_operator.controller import Reader, kinds
from openbao_operator.kube import ObjectKey


class FakeStore:
    def __init__(self) -> None:
        self.items: dict[ObjectKey, dict[str, Any]] = {}

    def get(self, key: ObjectKey) -> dict[str, Any] | None:
        return self.items.get(key)

    def list(self, *, namespace: str | None = None, labels: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        return [o for k, o in self.items.items() if namespace in (None, k.namespace)]


def nowhere() -> kube.KubeClient:
    """A client that points nowhere: a test whose code under test called the API server would fail."""
    return kube.connect(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "c",
        }
    )


def reader_over(store: FakeStore) -> Reader:
    """A Reader whose ConfigMaps come from ``store``; its client points nowhere (never called)."""
    return Reader(nowhere(), caches={kinds.CONFIGMAP: store})


def cm(rv: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "namespace": "ns", "resourceVersion": rv, "labels": {"x": "y"}},
        "data": {"v": value},
    }


async def test_read_your_writes_until_the_cache_moves() -> None:
    store = FakeStore()
    key = ObjectKey("ns", "a")
    store.items[key] = cm("1", "old")
    reader = reader_over(store)
    reader.wrote(kinds.CONFIGMAP, key, cm("2", "new"))
    got = await reader.get(kinds.CONFIGMAP, key)
    assert got is not None
    assert got["data"]["v"] == "new", "the cache still holds rv 1: our write is served"
    assert reader.list(kinds.CONFIGMAP, namespace="ns", labels={"x": "y"})[0]["data"]["v"] == "new"
    store.items[key] = cm("3", "someone else's")
    got = await reader.get(kinds.CONFIGMAP, key)
    assert got is not None
    assert got["data"]["v"] == "someone else's", "once the cache moved, it wins"
    reader.wrote(kinds.CONFIGMAP, key, None)
    assert await reader.get(kinds.CONFIGMAP, key) is None, "a delete is seen at once"
    assert reader.list(kinds.CONFIGMAP, namespace="ns", labels={}) == []
    await reader.kube.close()


async def test_a_write_the_cache_has_already_passed_is_not_pinned() -> None:
    """The informer may see our write and a later update (a controller's status) before ``wrote`` runs."""
    store = FakeStore()
    key = ObjectKey("ns", "a")
    store.items[key] = cm("12", "later, by someone else")
    reader = reader_over(store)
    reader.wrote(kinds.CONFIGMAP, key, cm("11", "ours"))
    got = await reader.get(kinds.CONFIGMAP, key)
    assert got is not None
    assert got["data"]["v"] == "later, by someone else"
    reader.wrote(kinds.CONFIGMAP, key, cm("12", "ours, seen"))
    got = await reader.get(kinds.CONFIGMAP, key)
    assert got is not None
    assert got["data"]["v"] == "later, by someone else", "the cache holds exactly our write: it is served"
    await reader.kube.close()


def test_the_watch_event_of_our_own_write_is_an_echo_once_and_nothing_else_is() -> None:
    store = FakeStore()
    key = ObjectKey("ns", "a")
    store.items[key] = cm("1", "old")
    reader = reader_over(store)
    reader.wrote(kinds.CONFIGMAP, key, cm("5", "ours"))
    assert reader.echo(kinds.CONFIGMAP, cm("3", "an older change")) is False  # not ours; ours still to come
    assert reader.echo(kinds.CONFIGMAP, cm("5", "ours")) is True
    assert reader.echo(kinds.CONFIGMAP, cm("5", "ours")) is False  # once
    reader.wrote(kinds.CONFIGMAP, key, cm("7", "ours again"))
    assert reader.echo(kinds.CONFIGMAP, cm("8", "someone's edit after ours")) is False
    assert reader.echo(kinds.CONFIGMAP, cm("7", "ours again")) is False  # a later version was seen first
    # a write whose event the cache already delivered (before the response): nothing to wait for
    store.items[key] = cm("9", "ours, seen")
    reader.wrote(kinds.CONFIGMAP, key, cm("9", "ours, seen"))
    assert reader.echo(kinds.CONFIGMAP, cm("9", "ours, seen")) is False
    # a delete records no echo; an uncached kind none either
    reader.wrote(kinds.CONFIGMAP, key, cm("10", "x"))
    reader.wrote(kinds.CONFIGMAP, key, None)
    assert reader.echo(kinds.CONFIGMAP, cm("10", "x")) is False
    reader.wrote(kinds.SECRET, key, cm("11", "x"))
    assert reader.echo(kinds.SECRET, cm("11", "x")) is False


def secret(name: str, *, ours: bool = True) -> dict[str, Any]:
    labels = {"app.kubernetes.io/managed-by": "openbao-operator"} if ours else {"team": "x"}
    meta = {"name": name, "namespace": "ns", "resourceVersion": "1", "labels": labels}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "data": {"k": "dg=="}}


async def test_a_secret_of_ours_is_remembered_for_a_few_seconds_and_then_read_again() -> None:
    now = [0.0]
    reader = Reader(nowhere(), caches={}, remember={kinds.SECRET: 10.0}, remember_limit=2, clock=lambda: now[0])
    key = ObjectKey("ns", "a-unseal-key")
    reader.wrote(kinds.SECRET, key, secret("a-unseal-key"))
    now[0] = 9.9
    got = await reader.get(kinds.SECRET, key)  # the client points nowhere: no request was made
    assert got is not None
    assert got["data"] == {"k": "dg=="}
    got["data"]["k"] = "changed by the caller"
    assert (await reader.get(kinds.SECRET, key) or {})["data"] == {"k": "dg=="}  # a copy each time
    with pytest.raises(kube.Transient):
        await reader.get(kinds.SECRET, key, direct=True)  # direct: always the API server
    now[0] = 10.0
    with pytest.raises(kube.Transient):
        await reader.get(kinds.SECRET, key)  # expired: read again


async def test_only_our_own_secrets_are_remembered_and_a_delete_or_the_limit_forgets() -> None:
    reader = Reader(nowhere(), caches={}, remember={kinds.SECRET: 10.0}, remember_limit=2, clock=lambda: 0.0)
    theirs, ours = ObjectKey("ns", "theirs"), [ObjectKey("ns", f"s{i}") for i in range(3)]
    reader.wrote(kinds.SECRET, theirs, secret("theirs", ours=False))
    with pytest.raises(kube.Transient):
        await reader.get(kinds.SECRET, theirs)
    for key in ours:
        reader.wrote(kinds.SECRET, key, secret(key.name))
    with pytest.raises(kube.Transient):
        await reader.get(kinds.SECRET, ours[0])  # the least recently used of three, over the limit of two
    assert await reader.get(kinds.SECRET, ours[2]) is not None
    reader.wrote(kinds.SECRET, ours[2], None)
    with pytest.raises(kube.Transient):
        await reader.get(kinds.SECRET, ours[2])
    plain = Reader(nowhere(), caches={})
    plain.wrote(kinds.SECRET, ours[1], secret(ours[1].name))
    with pytest.raises(kube.Transient):
        await plain.get(kinds.SECRET, ours[1])  # remembering is opt-in per kind
