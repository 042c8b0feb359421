"""The reconcile of an OpenBaoCluster, as an ordered list of steps (``reconciler.STEPS``, controller/step.py),
and the provisioner of OpenBaoTenants (controller/provisioner.py).

Public surface, used by the process wiring in ``cli``:

- :class:`Reconciler` (``await reconciler.reconcile(key) -> Outcome``) with :class:`ReconcilerConfig`;
- :class:`Reader` over informer caches (:class:`Cache`, :class:`MergedCache`), direct GETs otherwise;
- :mod:`.kinds`: the kinds that are watched, optional or pruned, and the finalizer.

The package never imports ``runtime``: caches and the Event recorder come in as protocols.
"""

from . import kinds
from .cache import cache_transform
from .image import Verifier
from .reconciler import EventSink, Outcome, Reconciler, ReconcilerConfig, status_differs
from .sources import Cache, MergedCache, Reader

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
