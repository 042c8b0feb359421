"""Informers, the work queue, leader election, health and metrics serving; knows nothing of OpenBao.

Public surface:

- :class:`Manager` wires a process: ``informer()``, ``scope()``, ``queue()``, ``controller()``, then
  ``await run(stop)``; :class:`NamespaceScope` watches kinds in namespaces that join and leave at run time.
- :class:`Informer` (LIST+WATCH cache, :class:`Store`, :class:`Event` handlers); :class:`OwnerMapper`,
  :func:`enqueue_self`, :func:`enqueue_owner`, :func:`meaningful_update` map events to keys;
  :class:`Touched` tells a pass whether an event queued its key.
- :class:`WorkQueue` (client-go semantics) with :class:`ExponentialBackoff`; :class:`Controller` runs an
  injected ``async reconcile(key) -> Result``.
- :class:`LeaderElector` / :class:`LeaseConfig` / :class:`LeadershipLost`; :class:`CacheSyncTimeout`;
  :class:`HealthServer`; :class:`RuntimeMetrics`; :class:`EventRecorder`; logging via :func:`configure_logging`.
"""

from .backoff import ExponentialBackoff
from .events import EventRecorder
from .informer import Event, Handler, Informer
from .leader import LeaderElector, LeadershipLost, LeaseConfig
from .logs import configure_logging, get_logger, reconcile_context, redact, redact_value
from .manager import CacheSyncTimeout, Manager, stop_on_signals
from .mapping import OwnerMapper, Touched, enqueue_owner, enqueue_self, meaningful_update, same_apart_from_version
from .memory import libc_trim, trim_periodically
from .metrics import RuntimeMetrics
from .queue import ShutDown, WorkQueue
from .scope import NamespaceScope, ScopedCache
from .server import HealthServer
from .store import Store
from .workers import Controller, Reconcile, Result

__all__ = [
    "CacheSyncTimeout",
    "Controller",
    "Event",
    "EventRecorder",
    "ExponentialBackoff",
    "Handler",
    "HealthServer",
    "Informer",
    "LeaderElector",
    "LeadershipLost",
    "LeaseConfig",
    "Manager",
    "NamespaceScope",
    "OwnerMapper",
    "Reconcile",
    "Result",
    "RuntimeMetrics",
    "ScopedCache",
    "ShutDown",
    "Store",
    "Touched",
    "WorkQueue",
    "configure_logging",
    "enqueue_owner",
    "enqueue_self",
    "get_logger",
    "libc_trim",
    "meaningful_update",
    "reconcile_context",
    "redact",
    "redact_value",
    "same_apart_from_version",
    "stop_on_signals",
    "trim_periodically",
]
