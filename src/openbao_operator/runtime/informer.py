"""An informer: a cache of one kind kept current by LIST then WATCH, calling handlers on every change.

Why this loop, step by step (client-go's reflector, minus what we do not need):

1. LIST (paginated) and replace the store. Differences with the previous store are dispatched, including
   *synthetic* deletes for objects that vanished while we were not watching (after a 410 or an outage).
2. WATCH from the list's resourceVersion with ``allowWatchBookmarks`` and a server-side timeout of 5 min
   plus up to 100 % jitter, so many informers do not reconnect in lockstep.
3. Every event and BOOKMARK advances the resourceVersion; when the server ends the watch, resume from it:
   no relist, no missed event.
4. 410 Gone (the version was compacted): relist immediately (step 1).
5. Any other failure, of any type: wait with bounded exponential backoff (0.8 s doubling to 30 s, with
   jitter), then resume from the last version (or relist, if the list itself failed). The loop never ends
   except by cancellation, so a bug or an unexpected error is a logged retry, not a silently dead cache.
6. An object the API server sends that cannot be decoded (kube.UndecodableObject: malformed, or nested
   deeper than Python can decode) is left out of the cache, as if it did not exist, and reported once per
   resourceVersion: a log line naming it and ``on_undecodable`` (the operator records an Event on it).
   One such object never stops the informer or hides the others.

``synced`` is set after the first successful LIST; /readyz waits on it and the controller does not start
before every informer has synced.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from openbao_operator.kube import Gone, KubeClient, KubeError, Manifest, ResourceType, UndecodableObject
from openbao_operator.kube.client import Selector

from .backoff import ExponentialBackoff
from .logs import get_logger
from .store import Store

log = get_logger(__name__)

EventType = Literal["ADDED", "MODIFIED", "DELETED"]


@dataclass(frozen=True)
class Event:
    """A change seen by an informer. ``synthetic`` deletes come from a relist, not from a watch event."""

    type: EventType
    object: Manifest = field(repr=False)
    old: Manifest | None = field(default=None, repr=False)
    synthetic: bool = False


Handler = Callable[[Event], None]
"""Handlers run inline in the informer's task: keep them to cheap, synchronous work (enqueueing keys)."""

UndecodableHandler = Callable[[UndecodableObject], Awaitable[None]]
"""Told once per undecodable object version; awaited inline, its failures logged and dropped."""

_REPORTED_LIMIT = 1024


class Informer:
    """Watches one kind (in one namespace, or cluster-wide with ``namespace=None``)."""

    def __init__(
        self,
        kube: KubeClient,
        rt: ResourceType,
        *,
        rng: random.Random,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Selector = None,
        watch_timeout: int = 300,
        page_size: int = 500,
        retry_base: float = 0.8,
        retry_cap: float = 30.0,
        transform: Callable[[Manifest], Manifest] | None = None,
        on_undecodable: UndecodableHandler | None = None,
    ) -> None:
        self.kube = kube
        self.rt = rt
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self.watch_timeout = watch_timeout
        self.page_size = page_size
        self.store = Store()
        self.synced = asyncio.Event()
        self.resource_version: str | None = None
        self.lists = 0
        self.watches = 0
        self._rng = rng
        self._retry = ExponentialBackoff(rng=rng, base=retry_base, cap=retry_cap, jitter=0.2)
        self._handlers: list[Handler] = []
        self._transform = transform
        """Applied to every object before it is stored (client-go's SetTransform): e.g. drop managedFields."""
        self._running = False
        self._on_undecodable = on_undecodable
        self._reported: OrderedDict[tuple[str, str, str, str], None] = OrderedDict()
        self.undecodable = 0
        """Undecodable object versions seen (each reported once)."""
        self.last_error: str | None = None
        """The last failure of a list or watch (None after a watch ended normally)."""

    def __repr__(self) -> str:
        return f"Informer({self.rt}, namespace={self.namespace or '*'})"

    def add_handler(self, handler: Handler) -> None:
        """Call ``handler`` on every change; it is first called for every object already in the store."""
        self._handlers.append(handler)
        for obj in self.store:
            self._call(handler, Event("ADDED", obj))

    @property
    def running(self) -> bool:
        """True while :meth:`run` is looping (the /healthz probe reports a dead informer)."""
        return self._running

    async def run(self) -> None:
        """Loop until cancelled; never raises except ``CancelledError``."""
        self._running = True
        try:
            while True:
                try:
                    if self.resource_version is None:
                        await self._relist()
                    await self._watch()
                    self._retry.forget("watch")
                    self.last_error = None
                except Gone as exc:
                    log.info("watch expired; relisting", kind=str(self.rt), reason=str(exc))
                    self.resource_version = None
                except KubeError as exc:
                    self.last_error = str(exc)
                    delay = self._retry.next_delay("watch")
                    log.warning("informer error; retrying", kind=str(self.rt), error=str(exc), retry_in=round(delay, 3))
                    await asyncio.sleep(delay)
                except Exception as exc:
                    # NB: not a KubeError means a bug (ours or a library's); dying here would leave a cache that
                    # silently stops following the cluster, so it is logged loudly and retried like any failure.
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    delay = self._retry.next_delay("watch")
                    log.exception("informer failed unexpectedly; retrying", kind=str(self.rt), retry_in=round(delay, 3))
                    await asyncio.sleep(delay)
        finally:
            self._running = False

    async def _relist(self) -> None:
        listed = await self.kube.list(
            self.rt, namespace=self.namespace, labels=self.labels, fields=self.fields, chunk_size=self.page_size
        )
        self.lists += 1
        items = [self._transform(o) for o in listed.items] if self._transform else listed.items
        # NB: an undecodable object is left out of ``items``, so a version cached earlier is dropped by the
        # replace below (a synthetic delete): the controller must not keep acting on a stale spec.
        changes = self.store.replace(items)
        self.resource_version = listed.resource_version
        for obj in changes.deleted:
            self._dispatch(Event("DELETED", obj, old=obj, synthetic=True))
        for old, new in changes.updated:
            self._dispatch(Event("MODIFIED", new, old=old))
        for obj in changes.added:
            self._dispatch(Event("ADDED", obj))
        self.synced.set()
        for bad in listed.undecodable:
            await self._report(bad)

    async def _watch(self) -> None:
        assert self.resource_version is not None
        # NB: jitter spreads reconnects of many informers (client-go: minWatchTimeout · (1 + rand)).
        timeout = self.watch_timeout + int(self._rng.random() * self.watch_timeout)
        self.watches += 1
        async for ev in self.kube.watch(
            self.rt,
            resource_version=self.resource_version,
            timeout_seconds=timeout,
            namespace=self.namespace,
            labels=self.labels,
            fields=self.fields,
        ):
            if ev.resource_version:
                self.resource_version = ev.resource_version
            if ev.type == "BOOKMARK":
                continue
            if ev.undecodable is not None:
                old = self.store.delete(ev.object)
                if old is not None:
                    self._dispatch(Event("DELETED", old, old=old, synthetic=True))
                if ev.type != "DELETED":
                    await self._report(ev.undecodable)
                continue
            obj = self._transform(ev.object) if self._transform else ev.object
            if ev.type == "DELETED":
                old = self.store.delete(obj)
                self._dispatch(Event("DELETED", obj, old=old))
            else:
                old = self.store.upsert(obj)
                self._dispatch(Event("ADDED" if old is None else "MODIFIED", obj, old=old))

    async def _report(self, bad: UndecodableObject) -> None:
        key = (bad.namespace, bad.name, bad.uid, bad.resource_version)
        if key in self._reported:
            return
        self._reported[key] = None
        if len(self._reported) > _REPORTED_LIMIT:
            self._reported.popitem(last=False)
        self.undecodable += 1
        log.error(
            "object cannot be decoded; left out of the cache until it changes",
            kind=bad.kind,
            namespace=bad.namespace,
            object=bad.name,
            uid=bad.uid,
            resource_version=bad.resource_version,
            reason=bad.reason,
        )
        if self._on_undecodable is None:
            return
        try:
            await self._on_undecodable(bad)
        except Exception:
            log.exception("reporting an undecodable object failed", kind=bad.kind, object=bad.name)

    def _dispatch(self, event: Event) -> None:
        for handler in self._handlers:
            self._call(handler, event)

    def _call(self, handler: Handler, event: Event) -> None:
        try:
            handler(event)
        except Exception:
            # NB: a broken handler must not stop the cache from tracking the cluster.
            log.exception("informer handler failed", kind=str(self.rt), handler=repr(handler))
