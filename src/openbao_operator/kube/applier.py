"""Write only what differs: stamp, compare with live, server-side apply when (and only when) needed.

Why a class of its own: "an unchanged cluster costs zero write requests" is decided in exactly one place.
The controller hands over desired manifests and the live objects it already has (from informer caches or
direct GETs); the applier returns whether it wrote, and why, so tests and logs can prove the invariant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .applied import APPLIED_HASH_ANNOTATION, stamped
from .client import KubeClient
from .diff import differences, normalize_desired
from .errors import NotFound
from .resources import ResourceType, of
from .types import Manifest, ObjectKey

_FETCH: Any = object()


@dataclass(frozen=True)
class ApplyResult:
    """The object after the call (live when nothing was written) and whether a write was sent."""

    object: Manifest = field(repr=False)
    written: bool
    reason: str
    """``"in sync"``, ``"absent"`` or ``"drift: <paths>"`` (field paths that differed)."""


class Applier:
    """Server-side apply with a client-side gate; field manager and force come from the client/constructor."""

    def __init__(self, kube: KubeClient, *, force: bool = True, hash_annotation: str = APPLIED_HASH_ANNOTATION) -> None:
        self.kube = kube
        self.force = force
        self.hash_annotation = hash_annotation

    async def ensure(self, desired: Mapping[str, Any], live: Manifest | None = _FETCH) -> ApplyResult:
        """Make the object hold ``desired``; ``live`` is the current object or None when known absent.

        Without ``live`` the object is fetched first (one GET). Conflicts with other field managers are
        taken over when ``force`` (the default, as fields we send are ours by design) and raised as
        :class:`~.errors.Conflict` otherwise.
        """
        want = stamped(desired, annotation=self.hash_annotation)
        if live is _FETCH:
            live = await self.get(of(want), ObjectKey.of(want))
        reason = self.reason(want, live)
        if reason == "in sync":
            assert live is not None
            return ApplyResult(object=live, written=False, reason=reason)
        result = await self.kube.apply(want, force=self.force)
        return ApplyResult(object=result, written=True, reason=reason)

    def reason(self, want: Mapping[str, Any], live: Mapping[str, Any] | None) -> str:
        """Why ``want`` (already stamped) must be written to ``live``, or ``"in sync"``."""
        if live is None:
            return "absent"
        paths = differences(normalize_desired(want), live)
        return "drift: " + ", ".join(paths[:10]) if paths else "in sync"

    async def get(self, rt: ResourceType, key: ObjectKey) -> Manifest | None:
        """The live object or None."""
        try:
            return await self.kube.get(rt, key.name, namespace=key.namespace or None)
        except NotFound:
            return None
