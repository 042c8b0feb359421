"""Which REST collection an ``apiVersion``/``kind`` lives at, and the lightkube resource class used to reach it.

Why a registry of our own: every object here is a plain dict (see :mod:`.types`), so every kind, built-in or
custom, is reached through a dict-backed lightkube *generic* resource. For built-in kinds the plural and
scope are read from lightkube-models' typed classes (so they are never typed by hand); CRs and Gateway API
kinds, which lightkube-models does not ship, are declared in :data:`KNOWN_CUSTOM`. The generic classes are
deliberately *not* put in lightkube's global ``resource_registry``: tests and other code may load the typed
classes of the same kinds there, and lightkube refuses two classes for one kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from lightkube.core import resource as lk_resource
from lightkube.core.exceptions import LoadResourceError
from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import (
    GenericGlobalResource,
    GenericGlobalStatus,
    GenericNamespacedResource,
    GenericNamespacedStatus,
    create_api_info,
)

from .errors import KubeError


@dataclass(frozen=True)
class ResourceType:
    """A kind and the collection it is served from."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def res(self) -> Any:
        """The dict-backed lightkube resource class for the object itself."""
        return _classes(self)[0]

    @property
    def status_res(self) -> Any:
        """The dict-backed lightkube resource class for the ``/status`` subresource."""
        return _classes(self)[1]

    def __str__(self) -> str:
        return f"{self.kind}.{self.api_version}"


def _custom(api_version: str, kind: str, plural: str, *, namespaced: bool = True) -> ResourceType:
    group, _, version = api_version.rpartition("/")
    return ResourceType(group=group, version=version, kind=kind, plural=plural, namespaced=namespaced)


_GATEWAY = "gateway.networking.k8s.io"

KNOWN_CUSTOM: tuple[ResourceType, ...] = (
    # NB: the project's own kinds by name (tests/unit/kube pins them to api's): importing api here would
    # load every model at process start, before the caches can sync (issue 20)
    _custom("openbao.org/v1alpha1", "OpenBaoCluster", "openbaoclusters"),
    _custom("openbao.org/v1alpha1", "OpenBaoTenant", "openbaotenants"),
    _custom("openbao.org/v1alpha1", "OpenBaoRestore", "openbaorestores"),
    _custom(f"{_GATEWAY}/v1", "Gateway", "gateways"),
    _custom(f"{_GATEWAY}/v1", "HTTPRoute", "httproutes"),
    _custom(f"{_GATEWAY}/v1beta1", "HTTPRoute", "httproutes"),
    _custom(f"{_GATEWAY}/v1", "TLSRoute", "tlsroutes"),
    _custom(f"{_GATEWAY}/v1alpha2", "TLSRoute", "tlsroutes"),
    _custom(f"{_GATEWAY}/v1alpha3", "TLSRoute", "tlsroutes"),
    _custom(f"{_GATEWAY}/v1", "BackendTLSPolicy", "backendtlspolicies"),
    _custom(f"{_GATEWAY}/v1alpha3", "BackendTLSPolicy", "backendtlspolicies"),
)
_custom_types: dict[tuple[str, str], ResourceType] = {(t.api_version, t.kind): t for t in KNOWN_CUSTOM}


def register(rt: ResourceType) -> ResourceType:
    """Declare a custom kind (a CRD) so that :func:`resource_type` finds it."""
    existing = _custom_types.setdefault((rt.api_version, rt.kind), rt)
    if existing != rt:
        raise ValueError(f"{rt} is already registered as {existing}")
    return rt


@cache
def resource_type(api_version: str, kind: str) -> ResourceType:
    """The collection for ``apiVersion``/``kind``; raises :class:`KubeError` for a kind nobody declared."""
    custom = _custom_types.get((api_version, kind))
    if custom is not None:
        return custom
    try:
        typed = resource_registry.load(api_version, kind)
    except (LoadResourceError, ImportError, ValueError) as exc:
        raise KubeError(f"unknown kind {kind} in {api_version}: declare it with kube.resources.register") from exc
    info = lk_resource.api_info(typed)
    return ResourceType(
        group=info.resource.group,
        version=info.resource.version,
        kind=info.resource.kind,
        plural=info.plural,
        namespaced=issubclass(typed, lk_resource.NamespacedResource),
    )


def of(obj: dict[str, Any]) -> ResourceType:
    """The collection of a manifest, from its ``apiVersion`` and ``kind``."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        raise KubeError(f"manifest without apiVersion/kind: {sorted(obj)}")
    return resource_type(api_version, kind)


@cache
def _classes(rt: ResourceType) -> tuple[Any, Any]:
    """Build (once) the generic main and status classes for ``rt``, outside lightkube's global registry."""
    info = create_api_info(rt.group, rt.version, rt.kind, rt.plural)
    status_info = lk_resource.ApiInfo(
        resource=info.resource, parent=info.resource, plural=rt.plural, verbs=["get", "patch", "put"], action="status"
    )
    main_base: type = GenericNamespacedResource if rt.namespaced else GenericGlobalResource
    status_base: type = GenericNamespacedStatus if rt.namespaced else GenericGlobalStatus
    status_cls = type(f"{rt.kind}Status", (status_base,), {"_api_info": status_info})
    main_cls = type(rt.kind, (main_base,), {"_api_info": info, "Status": status_cls})
    return main_cls, status_cls
