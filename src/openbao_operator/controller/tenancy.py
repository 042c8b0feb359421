"""Has the cluster's namespace opted in? The reconcile's first step, before anything is read or written there.

Why a step of its own, first: the operator holds write rights only in namespaces that opted in (an
OpenBaoTenant in cluster-wide mode, deploy/namespace-mode/rbac.yaml in namespace mode). A cluster
elsewhere must not make it try (every write would be refused, and a finalizer it could never remove would
be left behind), and the person who created it must learn why nothing happens and how to opt in. So:

- :func:`decide` (pure): from the namespace and what the process knows about tenancy, one
  :class:`Verdict`: go on; wait for the namespace's caches (onboarded a moment ago); or not onboarded.
- :func:`not_onboarded_status` (pure) and :func:`step` (the reconcile's step): the status the cluster gets
  in the last case: the condition ``TenantOnboarded=False`` with the remedy, everything else it said kept. Nothing else
  is written: no finalizer, no Event (the operator may not write Events there), no child object. The
  condition goes away with the first status of an onboarded pass (build_status does not produce it).

Which OpenBaoTenants count (:func:`tenant_scope`, :func:`onboarded_namespaces`) lives here too, since the
process wiring and the provisioner (controller/provisioner.py) must agree on it: a tenant in its own target
namespace (self-service) or in the operator's namespace (central), whose RoleBinding is in place
(``status.provisioned``). A tenant being deleted still counts until its binding is gone: clusters left in
the namespace must still be finalized by the deletion policy.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

from openbao_operator.api import ConditionType

from .conditions import Cond, merge
from .step import Context, Report

TENANT_ROLE: Final = "openbao-operator-tenant"
"""The pre-installed ClusterRole (deploy/rbac-roles.yaml) and the name of the RoleBinding that grants it."""
PENDING_RECHECK_SECONDS: Final = 2.0
"""Onboarded, caches not listed yet: look again this soon (the scope's sync callback usually comes first)."""


class TenancyView(Protocol):
    """What the process knows about tenancy (the wiring in ``cli`` implements it)."""

    @property
    def mode(self) -> str:
        """``cluster`` (OpenBaoTenant opt-in) or ``namespace`` (the watched namespaces are the opt-in)."""
        ...

    def onboarded(self, namespace: str) -> bool: ...

    def synced(self, namespace: str) -> bool:
        """The operator's caches in ``namespace`` have listed once."""
        ...


class Decision(enum.Enum):
    PROCEED = "proceed"
    WAIT = "wait"
    NOT_ONBOARDED = "not-onboarded"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    condition: Cond | None = None
    requeue_after: float | None = None


def tenant_scope(tenant: Mapping[str, Any], *, operator_namespace: str) -> str | None:
    """None when the tenant may onboard its target; else why not (a namespace cannot opt in its neighbour)."""
    meta = tenant.get("metadata") or {}
    target = str((tenant.get("spec") or {}).get("targetNamespace") or "")
    where = str(meta.get("namespace") or "")
    if not target:
        return "spec.targetNamespace is empty"
    if where in (target, operator_namespace):
        return None
    return (
        f"an OpenBaoTenant in namespace {where} may onboard only {where} itself (spec.targetNamespace: {where}); "
        f"to onboard {target}, create the tenant in {target} or, as a platform administrator, in the operator's "
        f"namespace {operator_namespace}"
    )


def onboarded_namespaces(tenants: Iterable[Mapping[str, Any]], *, operator_namespace: str) -> set[str]:
    """The namespaces some legitimate, provisioned tenant opts in."""
    out = set()
    for tenant in tenants:
        if tenant_scope(tenant, operator_namespace=operator_namespace) is not None:
            continue
        if (tenant.get("status") or {}).get("provisioned") is True:
            out.add(str(tenant["spec"]["targetNamespace"]))
    return out


def how_to_onboard(namespace: str, *, operator_namespace: str) -> str:
    return (
        f"namespace {namespace} has not opted in to the OpenBao operator, which writes nothing there: create an "
        f"OpenBaoTenant with spec.targetNamespace: {namespace}, in {namespace} itself (self-service) or in "
        f"{operator_namespace} (central); see deploy/tenant-example.yaml"
    )


def decide(namespace: str, *, view: TenancyView, operator_namespace: str, deleting: bool, resync: float) -> Verdict:
    """Go on, wait for the namespace's caches, or report that the namespace has not opted in."""
    if view.onboarded(namespace):
        if view.synced(namespace):
            return Verdict(Decision.PROCEED)
        return Verdict(Decision.WAIT, requeue_after=PENDING_RECHECK_SECONDS)
    message = how_to_onboard(namespace, operator_namespace=operator_namespace)
    if deleting:
        message += (
            "; this cluster is being deleted and its deletion policy can only run once the namespace is onboarded "
            "again (or remove the finalizer openbao.org/openbaocluster-finalizer yourself, after keeping a copy "
            "of its unseal key Secret)"
        )

    cond = Cond(ConditionType.TENANT_ONBOARDED.value, "False", "NamespaceNotOnboarded", message)
    return Verdict(Decision.NOT_ONBOARDED, condition=cond, requeue_after=resync)


def not_onboarded_status(
    live_status: Mapping[str, Any], *, condition: Cond, generation: int, now: datetime
) -> dict[str, Any]:
    """What status said, plus the condition; observedGeneration moves on (this generation was looked at)."""

    kind = ConditionType.TENANT_ONBOARDED.value
    keep = [c for c in live_status.get("conditions") or () if c.get("type") != kind]
    conditions = [*keep, *merge([condition], live_status.get("conditions"), generation=generation, now=now)]
    out = {k: v for k, v in live_status.items() if k != "conditions"}
    out.update(observedGeneration=generation, conditions=conditions)
    out.setdefault("phase", "Pending")
    return out


async def step(ctx: Context) -> Report:
    """First step: go on only in an onboarded namespace; else the condition (status only) and wait."""
    verdict = decide(
        ctx.namespace,
        view=ctx.clients.tenancy,
        operator_namespace=ctx.config.operator_namespace,
        deleting=bool((ctx.raw.get("metadata") or {}).get("deletionTimestamp")),
        resync=ctx.config.resync_seconds,
    )
    if verdict.decision is Decision.PROCEED:
        return Report()
    out = Report(stop=True)
    if verdict.requeue_after is not None:
        out.after(verdict.requeue_after)
    if verdict.condition is not None:
        out.status = not_onboarded_status(
            ctx.live_status, condition=verdict.condition, generation=ctx.generation, now=ctx.now
        )
    return out


class Everywhere:
    """A view that onboards every namespace and is always synced: for callers with their own scoping
    (tests of single reconciles that hand the reconciler prepared caches)."""

    mode = "namespace"

    def onboarded(self, namespace: str) -> bool:
        return True

    def synced(self, namespace: str) -> bool:
        return True
