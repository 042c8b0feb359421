"""Informers against the real API server: paginated list then watch with bookmarks, resume without
relisting after server timeouts, relist on 410 Gone (injected by a fault proxy in front of the real server)
with synthetic deletes, and namespace-scoped versus cluster-wide watches."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

import httpx2
import pytest

from openbao_operator import kube
from openbao_operator.runtime import Event, Informer
from tests.integration.kubehelp import GoneOnce, KubeClients, configmap, eventually
from tests.peers.controlplane import ControlPlane

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CM = kube.resource_type("v1", "ConfigMap")


@contextlib.asynccontextmanager
async def running(informer: Informer) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(informer.run())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _names(informer: Informer) -> set[str]:
    return {k.name for k in informer.store.object_keys()}


async def test_list_then_watch_tracks_every_change(kube_clients: KubeClients, namespace: str) -> None:
    counter = kube.RequestCounter()
    client = kube_clients(counter)
    writer = kube_clients()
    events: list[tuple[str, str]] = []
    informer = Informer(client, CM, rng=random.Random(1), namespace=namespace, labels={"t": "x"}, page_size=2)
    informer.add_handler(lambda e: events.append((e.type, e.object["metadata"]["name"])))
    for name in ("a", "b", "c"):
        await writer.create(configmap(namespace, name, {}, labels={"t": "x"}))
    await writer.create(configmap(namespace, "unlabelled", {}))
    async with running(informer):
        await asyncio.wait_for(informer.synced.wait(), 10)
        assert _names(informer) == {"a", "b", "c"}
        lists = [path for method, path in counter.log if "watch=" not in path]
        assert len(lists) == 2, f"three objects in pages of two take two LIST requests: {lists}"
        assert "limit=2" in lists[0]
        await writer.apply(configmap(namespace, "a", {"k": "v"}, labels={"t": "x"}))
        await writer.delete(CM, "b", namespace=namespace)
        await writer.create(configmap(namespace, "d", {}, labels={"t": "x"}))

        async def caught_up() -> bool:
            return _names(informer) == {"a", "c", "d"} and bool(
                (informer.store.get(kube.ObjectKey(namespace, "a")) or {}).get("data")
            )

        await eventually(caught_up, what="the cache to follow the watch")
    watch = next(path for _, path in counter.log if "watch=true" in path)
    assert "allowWatchBookmarks=true" in watch
    assert "timeoutSeconds=" in watch
    assert sorted(events[:3]) == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")]
    assert events[3:] == [("MODIFIED", "a"), ("DELETED", "b"), ("ADDED", "d")]
    assert informer.lists == 1


async def test_resume_from_last_version_without_relisting(kube_clients: KubeClients, namespace: str) -> None:
    client = kube_clients()
    events: list[Event] = []
    informer = Informer(client, CM, rng=random.Random(2), namespace=namespace, watch_timeout=1)
    informer.add_handler(events.append)
    async with running(informer):
        await asyncio.wait_for(informer.synced.wait(), 10)
        # The server closes each watch after 1-2 s; the informer must reconnect from where it was.
        await eventually(lambda: _async(informer.watches >= 3), what="three server-side watch timeouts")
        await client.create(configmap(namespace, "late", {}))
        await eventually(lambda: _async("late" in _names(informer)), what="the event after reconnects")
    assert informer.lists == 1, "a server timeout resumes the watch; it never relists"
    assert [e.object["metadata"]["name"] for e in events if e.type == "ADDED"][-1] == "late"


async def _async(value: bool) -> bool:
    return value


async def test_gone_relists_and_emits_synthetic_deletes(control_plane: ControlPlane, namespace: str) -> None:
    faults: list[GoneOnce] = []

    def wrap(inner: httpx2.AsyncBaseTransport) -> httpx2.AsyncBaseTransport:
        faults.append(GoneOnce(inner))
        return faults[0]

    client = kube.connect(control_plane.admin_kubeconfig, wrap_transport=wrap)
    events: list[Event] = []
    # Only the test's own ConfigMaps: kube-controller-manager publishes kube-root-ca.crt into every new namespace
    # at a moment of its choosing, which could otherwise land among the events this test counts.
    mine = {"gone-test": namespace}
    informer = Informer(client, CM, rng=random.Random(3), namespace=namespace, labels=mine)
    informer.add_handler(events.append)
    try:
        await client.create(configmap(namespace, "stays", {}, labels=mine))
        await client.create(configmap(namespace, "goes", {}, labels=mine))
        async with running(informer):
            await asyncio.wait_for(informer.synced.wait(), 10)
            assert {"stays", "goes"} <= _names(informer)
        # While nobody watches, one object goes away and one appears; then the informer's version expires.
        await client.delete(CM, "goes", namespace=namespace)
        await client.create(configmap(namespace, "new", {}, labels=mine))
        faults[0].armed = True
        events.clear()
        async with running(informer):
            await eventually(lambda: _async(informer.lists == 2), what="a relist after 410 Gone")
            await eventually(lambda: _async("new" in _names(informer)), what="the relisted object")
        assert faults[0].fired == 1
        assert "goes" not in _names(informer)
        deletes = [e for e in events if e.type == "DELETED"]
        assert [(e.object["metadata"]["name"], e.synthetic) for e in deletes] == [("goes", True)]
        assert [e.object["metadata"]["name"] for e in events if e.type == "ADDED"] == ["new"]
    finally:
        await client.close()


async def test_namespace_scoping_and_cluster_wide(kube_clients: KubeClients, namespace: str) -> None:
    client = kube_clients()
    scoped = Informer(client, CM, rng=random.Random(4), namespace=namespace)
    everywhere = Informer(client, CM, rng=random.Random(5), labels={"scope-test": namespace})
    try:
        await client.create(configmap(namespace, "here", {}, labels={"scope-test": namespace}))
        await client.create(configmap("default", f"there-{namespace}", {}, labels={"scope-test": namespace}))
        async with running(scoped), running(everywhere):
            await asyncio.wait_for(asyncio.gather(scoped.synced.wait(), everywhere.synced.wait()), 10)
            assert "here" in _names(scoped)
            assert f"there-{namespace}" not in _names(scoped)
            assert {str(k) for k in everywhere.store.object_keys()} == {
                f"{namespace}/here",
                f"default/there-{namespace}",
            }
    finally:
        await client.delete(CM, f"there-{namespace}", namespace="default")


async def test_an_unexpected_exception_is_logged_and_retried_never_the_end_of_the_informer(
    kube_clients: KubeClients, namespace: str
) -> None:
    """A bug (here: a transform that fails twice on one object) must not silently kill the cache."""
    client = kube_clients()
    failures: list[str] = []

    def flaky(obj: kube.Manifest) -> kube.Manifest:
        if obj["metadata"]["name"] == "boom" and len(failures) < 2:
            failures.append(obj["metadata"]["name"])
            raise RuntimeError("a bug in a transform")
        return obj

    informer = Informer(
        client, CM, rng=random.Random(6), namespace=namespace, transform=flaky, retry_base=0.05, retry_cap=0.2
    )
    await client.create(configmap(namespace, "boom", {}))
    async with running(informer) as task:
        await asyncio.wait_for(informer.synced.wait(), 10)
        assert not task.done()
        assert "boom" in _names(informer)
        assert informer.running
    assert failures == ["boom", "boom"]
    assert informer.lists == 3, "each failed attempt started over with a LIST"
