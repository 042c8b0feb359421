"""The OpenBaoCluster API: pydantic models of spec and status, defaults, validation and CRD generation.

Nothing else of the project is imported here, so every other layer can depend on the models.

The names below load on first use (PEP 562): importing ``openbao_operator.api.names`` or ``.constants``
must not build every pydantic model (about half a second), which the process start path does not need
before its caches have synced (start → /readyz, issue 20).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .constants import API_VERSION, GROUP, KIND, PLURAL, VERSION, ConditionType

if TYPE_CHECKING:
    from .cluster import OpenBaoCluster, OpenBaoClusterSpec
    from .errors import FieldError, InvalidClusterError
    from .load import parse_cluster
    from .status import Condition, OpenBaoClusterStatus
    from .tenant import TENANT_FINALIZER, TENANT_KIND, OpenBaoTenant, OpenBaoTenantSpec, parse_tenant

_LAZY = {
    "OpenBaoCluster": ".cluster",
    "OpenBaoClusterSpec": ".cluster",
    "FieldError": ".errors",
    "InvalidClusterError": ".errors",
    "parse_cluster": ".load",
    "Condition": ".status",
    "OpenBaoClusterStatus": ".status",
    "TENANT_FINALIZER": ".tenant",
    "TENANT_KIND": ".tenant",
    "OpenBaoTenant": ".tenant",
    "OpenBaoTenantSpec": ".tenant",
    "parse_tenant": ".tenant",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # the next lookup is a plain module attribute
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "API_VERSION",
    "GROUP",
    "KIND",
    "PLURAL",
    "TENANT_FINALIZER",
    "TENANT_KIND",
    "VERSION",
    "Condition",
    "ConditionType",
    "FieldError",
    "InvalidClusterError",
    "OpenBaoCluster",
    "OpenBaoClusterSpec",
    "OpenBaoClusterStatus",
    "OpenBaoTenant",
    "OpenBaoTenantSpec",
    "parse_cluster",
    "parse_tenant",
]
