"""The only package that talks to the Kubernetes API server: client setup, typed errors, server-side apply.

Public surface (everything else is an implementation detail):

- :func:`connect` → :class:`KubeClient`: get / list / watch / create / replace / apply / apply_status /
  merge_patch / delete on plain-dict manifests of any kind (:func:`resource_type`, :func:`resource_of`).
- :mod:`.errors`: :class:`KubeError` → :class:`NotFound`, :class:`Conflict`, :class:`AlreadyExists`,
  :class:`Gone`, :class:`Forbidden`, :class:`Invalid` (with :class:`Cause` field paths), :class:`Transient`,
  :class:`Undecodable` (and :class:`UndecodableObject`, one object of a LIST or watch set apart).
- :class:`Applier`: the zero-writes-at-steady-state gate (:func:`in_sync`, :func:`differences`, the
  :data:`APPLIED_HASH_ANNOTATION`), returning :class:`ApplyResult`.

It knows nothing of OpenBao beyond the OpenBaoCluster kind's REST coordinates.
"""

from .applied import APPLIED_HASH_ANNOTATION, applied_hash, stamped
from .applier import Applier, ApplyResult
from .client import FIELD_MANAGER, KubeClient, ObjectList, Preconditions, WatchEvent, connect, selector
from .config import load_config
from .decode import UndecodableObject
from .diff import differences, in_sync, normalize_desired
from .errors import (
    AlreadyExists,
    Cause,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeError,
    NotFound,
    Transient,
    Undecodable,
)
from .quantity import parse_quantity, same_quantity
from .resources import ResourceType, register, resource_type
from .resources import of as resource_of
from .transport import ObservedTransport, RequestCounter, TransportWrapper
from .types import Manifest, ObjectKey

__all__ = [
    "APPLIED_HASH_ANNOTATION",
    "FIELD_MANAGER",
    "AlreadyExists",
    "Applier",
    "ApplyResult",
    "Cause",
    "Conflict",
    "Forbidden",
    "Gone",
    "Invalid",
    "KubeClient",
    "KubeError",
    "Manifest",
    "NotFound",
    "ObjectKey",
    "ObjectList",
    "ObservedTransport",
    "Preconditions",
    "RequestCounter",
    "ResourceType",
    "Transient",
    "TransportWrapper",
    "Undecodable",
    "UndecodableObject",
    "WatchEvent",
    "applied_hash",
    "connect",
    "differences",
    "in_sync",
    "load_config",
    "normalize_desired",
    "parse_quantity",
    "register",
    "resource_of",
    "resource_type",
    "same_quantity",
    "selector",
    "stamped",
]
