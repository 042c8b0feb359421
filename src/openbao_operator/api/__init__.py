"""The OpenBaoCluster API: pydantic models of spec and status, defaults, validation and CRD generation.

Nothing else of the project is imported here, so every other layer can depend on the models.
"""

from .cluster import API_VERSION, GROUP, KIND, PLURAL, VERSION, OpenBaoCluster, OpenBaoClusterSpec
from .errors import FieldError, InvalidClusterError
from .load import parse_cluster
from .status import Condition, ConditionType, OpenBaoClusterStatus
from .tenant import TENANT_FINALIZER, TENANT_KIND, OpenBaoTenant, OpenBaoTenantSpec, parse_tenant

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
