"""Kubernetes Events (events.k8s.io/v1) for what a person would want to know, with repeats aggregated.

Why aggregation: a condition that persists (an image that will not verify) is reported on every retry; one
Event whose ``series.count`` grows is what ``kubectl describe`` should show, not hundreds of copies, and a
repeat costs a small PATCH, not a new object. Repeats are recognised by (object, type, reason, action,
note) within ``window`` seconds, as client-go's event correlator does. Recording never fails a reconcile:
errors are logged and dropped.

An Event that announces a transition the caller is about to persist (a status write) can be named by the
occurrence (``once``): the caller records it *before* the write, and a process that dies between the two
and redoes the transition finds the Event already there (AlreadyExists is "recorded"). Recorded after the
write instead, a death in between would lose it for good: the next process sees no transition left.

Notes are truncated to the API's 1 kB limit; callers must never put secret values in them.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from openbao_operator.kube import AlreadyExists, KubeClient, KubeError, Manifest, resource_type

from .leader import micro_time
from .logs import get_logger, redact_value

log = get_logger(__name__)

EVENT = resource_type("events.k8s.io/v1", "Event")
NOTE_LIMIT = 1024

EventKind = Literal["Normal", "Warning"]


@dataclass
class _Series:
    name: str
    namespace: str
    count: int
    last_seen: float


def _once_name(key: tuple[str, ...], once: str) -> str:
    """``<object>.<16 hex>``: the same occurrence of the same Event about the same object, the same name."""
    uid, kind, _, name, type_, reason, action, _note = key
    digest = hashlib.sha256("\0".join((uid, kind, type_, reason, action, once)).encode()).hexdigest()[:16]
    return f"{name}.{digest}"


def _wall_now() -> datetime:
    return datetime.now(UTC)


class EventRecorder:
    """Records Events about objects as ``controller`` (reportingController) from ``instance`` (the pod)."""

    def __init__(
        self,
        kube: KubeClient,
        *,
        controller: str,
        instance: str,
        window: float = 600.0,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], datetime] = _wall_now,
    ) -> None:
        self.kube = kube
        self.controller = controller
        self.instance = instance
        self.window = window
        self._clock = clock
        self._wall_clock = wall_clock
        self._series: dict[tuple[str, ...], _Series] = {}

    async def record(
        self,
        regarding: Manifest,
        *,
        type: EventKind,
        reason: str,
        action: str,
        note: str,
        once: str | None = None,
    ) -> None:
        """Record one occurrence; a repeat within the window bumps the existing Event's series.

        ``once``: what identifies this occurrence (e.g. the resourceVersion of the state a transition leaves).
        The Event's name is derived from it, an Event of that name already there counts as recorded, and no
        series is kept: another occurrence has another identity."""
        meta = regarding.get("metadata") or {}
        namespace = str(meta.get("namespace") or "default")
        note = str(redact_value(note))[:NOTE_LIMIT]
        key = (
            str(meta.get("uid") or ""),
            str(regarding.get("kind")),
            namespace,
            str(meta.get("name")),
            type,
            reason,
            action,
            note,
        )
        now = self._now()
        stamp = micro_time(self._wall_clock())
        series = self._series.get(key) if once is None else None
        try:
            if series is not None and now - series.last_seen <= self.window:
                series.count += 1
                series.last_seen = now
                patch = {"series": {"count": series.count, "lastObservedTime": stamp}}
                await self.kube.merge_patch(EVENT, series.name, patch, namespace=series.namespace)
                return
            wall = self._wall_clock()
            name = f"{meta.get('name')}.{int(wall.timestamp() * 1e9):x}" if once is None else _once_name(key, once)
            body: Manifest = {
                "apiVersion": EVENT.api_version,
                "kind": EVENT.kind,
                "metadata": {"name": name, "namespace": namespace},
                "eventTime": stamp,
                "reportingController": self.controller,
                "reportingInstance": self.instance,
                "action": action,
                "reason": reason,
                "type": type,
                "note": note,
                "regarding": {
                    k: v
                    for k, v in {
                        "apiVersion": regarding.get("apiVersion"),
                        "kind": regarding.get("kind"),
                        "name": meta.get("name"),
                        "namespace": meta.get("namespace"),
                        "uid": meta.get("uid"),
                        "resourceVersion": meta.get("resourceVersion"),
                    }.items()
                    if v
                },
            }
            if once is not None:
                try:
                    await self.kube.create(body)
                except AlreadyExists:
                    log.debug("event already recorded", reason=reason)
                return
            await self.kube.create(body)
            self._series[key] = _Series(name=name, namespace=namespace, count=1, last_seen=now)
            self._expire(now)
        except KubeError as exc:
            log.warning("event not recorded", reason=reason, error=str(exc))

    def _expire(self, now: float) -> None:
        for key in [k for k, s in self._series.items() if now - s.last_seen > self.window]:
            del self._series[key]

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()
