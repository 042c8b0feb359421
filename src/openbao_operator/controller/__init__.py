"""The reconcile of an OpenBaoCluster, as an ordered list of steps (``reconciler.STEPS``, controller/step.py),
and the provisioner of OpenBaoTenants (controller/provisioner.py).

Public surface, used by the process wiring in ``cli``:

- :class:`Reconciler` (``await reconciler.reconcile(key) -> Outcome``) with :class:`ReconcilerConfig`;
- :class:`Reader` over informer caches (:class:`Cache`, :class:`MergedCache`), direct GETs otherwise;
- :mod:`.kinds`: the kinds that are watched, optional or pruned, and the finalizer.

The package never imports ``runtime``: caches and the Event recorder come in as protocols.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import kinds
from .cache import cache_transform
from .sources import Cache, MergedCache, Reader

if TYPE_CHECKING:
    from .image import Verifier
    from .reconciler import EventSink, Outcome, Reconciler, ReconcilerConfig, status_differs

_LAZY = {
    "Verifier": ".image",
    "EventSink": ".reconciler",
    "Outcome": ".reconciler",
    "Reconciler": ".reconciler",
    "ReconcilerConfig": ".reconciler",
    "status_differs": ".reconciler",
}
"""Loaded on first use: the reconcile imports the models, the renderer and cryptography, which the process
does not need until its caches have synced (start → /readyz, issue 20)."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Cache",
    "EventSink",
    "MergedCache",
    "Outcome",
    "Reader",
    "Reconciler",
    "ReconcilerConfig",
    "Verifier",
    "cache_transform",
    "kinds",
    "status_differs",
]
