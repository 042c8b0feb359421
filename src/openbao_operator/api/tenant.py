"""The OpenBaoTenant resource: a namespace's opt-in to being managed by the operator.

Why a kind of its own (the reference operator's, same group, version and fields): the operator holds no
write right in a namespace until someone with authority over it asks. An OpenBaoTenant is that request;
the operator answers it by binding itself, in ``spec.targetNamespace`` only, to the pre-installed
``openbao-operator-tenant`` ClusterRole (controller/provisioner.py). Two places may hold a tenant:

- the target namespace itself (self-service: ``metadata.namespace == spec.targetNamespace``), so whoever
  may create objects there opts that namespace in and no other;
- the operator's own namespace (central: a platform administrator onboards any namespace).

A tenant anywhere else that names another namespace is refused (a namespace cannot opt in its
neighbour). ``quota`` and ``limitRange`` of the reference are accepted so its manifests apply unchanged,
and reported as not acted on: this operator holds no right to ResourceQuotas or LimitRanges.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import ApiModel
from .cluster import GROUP, VERSION
from .load import parse_as
from .status import Condition
from .types import DnsLabel

TENANT_KIND = "OpenBaoTenant"
TENANT_PLURAL = "openbaotenants"
TENANT_FINALIZER = "openbao.org/openbaotenant-finalizer"
"""The reference operator's finalizer name: the tenant's RoleBinding is removed before the tenant goes."""

__all__ = [
    "GROUP",
    "TENANT_FINALIZER",
    "TENANT_KIND",
    "TENANT_PLURAL",
    "VERSION",
    "OpenBaoTenant",
    "OpenBaoTenantSpec",
    "OpenBaoTenantStatus",
    "parse_tenant",
]


class OpenBaoTenantSpec(ApiModel):
    """Which namespace the operator may manage OpenBaoClusters in."""

    target_namespace: DnsLabel
    """The namespace to onboard. The operator binds its ServiceAccount there, and only there, to the
    openbao-operator-tenant ClusterRole. Must equal metadata.namespace unless the tenant is created in the
    operator's own namespace."""
    quota: dict[str, Any] | None = None
    """Accepted for compatibility with the reference operator and not acted on: this operator creates no
    ResourceQuota (it holds no right to). Manage quotas with your platform's own tooling."""
    limit_range: dict[str, Any] | None = None
    """Accepted for compatibility with the reference operator and not acted on: this operator creates no
    LimitRange (it holds no right to)."""


class OpenBaoTenantStatus(ApiModel):
    """What the operator did with the request."""

    provisioned: bool | None = None
    """True when the operator's RoleBinding exists in the target namespace."""
    last_error: str | None = None
    """Why the namespace is not (or no longer) onboarded, and what to do."""
    conditions: list[Condition] | None = Field(
        default=None, json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]}
    )
    """Provisioned (True/False with a reason) and FieldsIgnored."""


class TenantMeta(ApiModel):
    """The part of metadata the operator reads."""

    model_config = {"extra": "allow"}

    name: str
    """Tenant name."""
    namespace: str | None = None
    """Where the tenant lives: the target namespace or the operator's namespace."""


class OpenBaoTenant(ApiModel):
    """A namespace's opt-in to the OpenBao operator."""

    api_version: Literal["openbao.org/v1alpha1"] = Field(alias="apiVersion")
    """openbao.org/v1alpha1."""
    kind: Literal["OpenBaoTenant"]
    """OpenBaoTenant."""
    metadata: TenantMeta
    """Standard object metadata."""
    spec: OpenBaoTenantSpec
    """The namespace to onboard."""
    status: OpenBaoTenantStatus | None = None
    """Written by the operator."""


def parse_tenant(document: Any) -> OpenBaoTenant:
    """Validate one OpenBaoTenant manifest; raise InvalidClusterError naming every bad field otherwise."""
    return parse_as(document, OpenBaoTenant, kind=TENANT_KIND)
