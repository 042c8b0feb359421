"""Answer an OpenBaoTenant: bind the operator, in the target namespace only, to its pre-installed tenant role.

Why this shape (and what it needs of RBAC, deploy/rbac-cluster.yaml): the operator holds no write right in
a namespace until it creates one RoleBinding there, ``openbao-operator-tenant``, binding its own
ServiceAccount to the pre-installed ClusterRole of that name. The API server lets it create that binding,
and no other, because it holds ``bind`` on exactly that ClusterRole (escalation prevention would otherwise
demand it hold every right the role grants). Everything it then does in the namespace comes from that
binding, and deleting the binding takes it all back.

One pass, level-triggered:

1. a tenant outside its target namespace and outside the operator's namespace is refused (a namespace
   cannot opt in its neighbour; controller/tenancy.py): status says so, nothing is created;
2. the tenant's finalizer goes on first, so the binding is never left behind by a deleted tenant;
3. the binding: read (GET; a 403 means "not bound to us yet"), created when absent, its subject added
   when missing; one whose roleRef is another role is not ours and is reported, never overwritten. The
   binding carries the tenant finalizer too, so that while a namespace is being deleted the operator keeps
   its rights there until every OpenBaoCluster in it has been finalized by its deletion policy;
4. status: ``provisioned``, ``lastError`` and the conditions Provisioned and FieldsIgnored (``quota`` and
   ``limitRange`` are accepted for compatibility, not acted on), written only when they change;
5. deletion: while OpenBaoClusters remain in the namespace the binding stays (they could not be finalized
   without it) and status says what is waited for; then the binding goes, then the finalizer. A binding
   still wanted by another tenant of the same namespace stays.

A steady tenant costs one GET per resync and no write.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from openbao_operator.api import TENANT_FINALIZER, InvalidClusterError, parse_tenant
from openbao_operator.kube import (
    AlreadyExists,
    Conflict,
    Forbidden,
    Invalid,
    KubeClient,
    Manifest,
    NotFound,
    ObjectKey,
)

from .conditions import Cond, merge
from .kinds import ROLEBINDING, TENANT
from .reconciler import Outcome
from .tenancy import TENANT_ROLE, tenant_scope

PROVISIONED: Final = "Provisioned"
FIELDS_IGNORED: Final = "FieldsIgnored"
WAIT_SECONDS: Final = 5.0
"""While a deleted tenant waits for clusters to go, or a namespace to appear, look again this often."""


class Cache(Protocol):
    def get(self, key: ObjectKey) -> Manifest | None: ...

    def list(
        self, *, namespace: str | None = None, labels: Mapping[str, str] | None = None
    ) -> builtins.list[Manifest]: ...


@dataclass(frozen=True, kw_only=True)
class ProvisionerConfig:
    operator_namespace: str
    service_account: str
    """The operator's own ServiceAccount (in ``operator_namespace``): the binding's subject."""
    resync_seconds: float = 600.0


@dataclass(frozen=True)
class _Result:
    provisioned: bool
    reason: str
    message: str
    retry_after: float | None = None


def tenant_binding(namespace: str, *, service_account: str, operator_namespace: str) -> Manifest:
    """The RoleBinding that onboards ``namespace``: the operator's ServiceAccount → ClusterRole of the same name."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {
            "name": TENANT_ROLE,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/name": "openbao-operator",
                "app.kubernetes.io/component": "tenant",
                "app.kubernetes.io/managed-by": "openbao-operator",
            },
            "finalizers": [TENANT_FINALIZER],
        },
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": TENANT_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": operator_namespace}],
    }


def _wall_now() -> datetime:
    return datetime.now(UTC)


class Provisioner:
    """Reconciles OpenBaoTenants; one instance per process, no per-key state."""

    def __init__(
        self,
        *,
        kube: KubeClient,
        tenants: Cache,
        clusters: Cache,
        config: ProvisionerConfig,
        clock: Callable[[], datetime] = _wall_now,
    ) -> None:
        self.kube = kube
        self.tenants = tenants
        self.clusters = clusters
        self.config = config
        self.clock = clock
        self._subject = {
            "kind": "ServiceAccount",
            "name": config.service_account,
            "namespace": config.operator_namespace,
        }

    async def reconcile(self, key: ObjectKey) -> Outcome:
        raw = self.tenants.get(key)
        if raw is None:
            return Outcome()
        meta = raw.get("metadata") or {}
        try:
            tenant = parse_tenant(raw)
        except InvalidClusterError as exc:
            await self._status(raw, _Result(False, "InvalidSpec", exc.summary()))
            return Outcome(requeue_after=self.config.resync_seconds)
        target = tenant.spec.target_namespace
        refusal = tenant_scope(raw, operator_namespace=self.config.operator_namespace)
        if meta.get("deletionTimestamp"):
            return await self._delete(raw, target, legitimate=refusal is None)
        if refusal is not None:
            await self._status(raw, _Result(False, "CrossNamespaceTarget", refusal))
            return Outcome(requeue_after=self.config.resync_seconds)
        if TENANT_FINALIZER not in (meta.get("finalizers") or ()):
            raw = await self._finalizers(raw, [*(meta.get("finalizers") or ()), TENANT_FINALIZER])
        result = await self._ensure_binding(target)
        await self._status(raw, result, ignored=_ignored(raw))
        return Outcome(requeue_after=result.retry_after or self.config.resync_seconds)

    # -- the binding -------------------------------------------------------------------------------------------

    async def _ensure_binding(self, namespace: str) -> _Result:
        desired = tenant_binding(
            namespace, service_account=self.config.service_account, operator_namespace=self.config.operator_namespace
        )
        live = await self._get_binding(namespace)
        if live is not None and (live.get("metadata") or {}).get("deletionTimestamp"):
            return await self._terminating(namespace)
        if live is None:
            try:
                await self.kube.create(desired)
                return self._done(namespace)
            except NotFound:
                return _Result(False, "NamespaceNotFound", f"namespace {namespace} does not exist", WAIT_SECONDS)
            except (AlreadyExists, Forbidden) as exc:
                # Forbidden: refused by RBAC or admission (the message says which); AlreadyExists: a binding of
                # that name that does not grant us anything yet (else the GET would have succeeded).
                live = await self._get_binding(namespace)
                if live is None and isinstance(exc, AlreadyExists):
                    message = (
                        f"a RoleBinding {TENANT_ROLE} exists in {namespace} and grants the operator nothing there "
                        f"(another role or another subject); delete it, or make it bind the ClusterRole "
                        f"{TENANT_ROLE} to the operator's ServiceAccount"
                    )
                    return _Result(False, "ForeignObject", message, self.config.resync_seconds)
                if live is None:
                    return _Result(False, "BindingRefused", self._refused(namespace, exc), self.config.resync_seconds)
        return await self._adopt(namespace, live)

    async def _terminating(self, namespace: str) -> _Result:
        """The binding is being deleted (its namespace is, or someone deleted it): its finalizer keeps the
        operator's rights until the clusters there are finalized; then it is let go (and, if the tenant
        still wants the namespace, created again by a later pass)."""
        remaining = self.clusters.list(namespace=namespace)
        if remaining:
            message = (
                f"RoleBinding {TENANT_ROLE} in {namespace} is being deleted; it is kept until the "
                f"{len(remaining)} OpenBaoCluster(s) there are finalized by their deletion policy"
            )
            return _Result(True, "BindingTerminating", message, WAIT_SECONDS)
        await self.release_binding(namespace)
        gone = f"RoleBinding {TENANT_ROLE} in {namespace} was deleted"
        return _Result(False, "BindingTerminating", gone, WAIT_SECONDS)

    async def _adopt(self, namespace: str, live: Manifest) -> _Result:
        if (live.get("roleRef") or {}).get("name") != TENANT_ROLE or (live.get("roleRef") or {}).get(
            "kind"
        ) != "ClusterRole":
            return _Result(
                False,
                "ForeignObject",
                f"RoleBinding {TENANT_ROLE} in {namespace} binds {(live.get('roleRef') or {}).get('kind')} "
                f"{(live.get('roleRef') or {}).get('name')}, not the ClusterRole {TENANT_ROLE}; delete it to let "
                "the operator onboard the namespace",
                self.config.resync_seconds,
            )
        subjects = list(live.get("subjects") or ())
        if not any(self._is_us(s) for s in subjects):
            meta = live.get("metadata") or {}
            patch = {
                "subjects": [*subjects, self._subject],
                "metadata": {"resourceVersion": meta.get("resourceVersion")},
            }
            try:
                await self.kube.merge_patch(ROLEBINDING, TENANT_ROLE, patch, namespace=namespace)
            except (Conflict, Forbidden, Invalid) as exc:
                return _Result(False, "BindingRefused", self._refused(namespace, exc), WAIT_SECONDS)
        return self._done(namespace)

    def _done(self, namespace: str) -> _Result:
        return _Result(
            True,
            "Provisioned",
            f"RoleBinding {TENANT_ROLE} in {namespace} grants the operator the ClusterRole {TENANT_ROLE} there",
        )

    def _refused(self, namespace: str, exc: Exception) -> str:
        return (
            f"the operator could not create RoleBinding {TENANT_ROLE} in {namespace}: {exc}; check that "
            f"deploy/rbac-cluster.yaml and deploy/rbac-roles.yaml are installed, or bind the operator's "
            f"ServiceAccount there yourself (deploy/namespace-mode/rbac.yaml shows the binding)"
        )

    def _is_us(self, subject: Mapping[str, Any]) -> bool:
        return (
            subject.get("kind") == "ServiceAccount"
            and subject.get("name") == self.config.service_account
            and subject.get("namespace") == self.config.operator_namespace
        )

    async def _get_binding(self, namespace: str) -> Manifest | None:
        """The tenant binding, or None when it is absent *or* not readable yet (not bound to us)."""
        try:
            return await self.kube.get(ROLEBINDING, TENANT_ROLE, namespace=namespace)
        except (NotFound, Forbidden):
            return None

    # -- deletion ----------------------------------------------------------------------------------------------

    async def _delete(self, raw: Manifest, target: str, *, legitimate: bool) -> Outcome:
        meta = raw.get("metadata") or {}
        if TENANT_FINALIZER not in (meta.get("finalizers") or ()):
            return Outcome()
        others = [
            t
            for t in self.tenants.list()
            if (t.get("spec") or {}).get("targetNamespace") == target
            and not (t.get("metadata") or {}).get("deletionTimestamp")
            and ObjectKey.of(t) != ObjectKey.of(raw)
            and tenant_scope(t, operator_namespace=self.config.operator_namespace) is None
        ]
        if legitimate and not others:
            remaining = self.clusters.list(namespace=target)
            if remaining:
                names = ", ".join(sorted(str(c["metadata"]["name"]) for c in remaining)[:5])
                message = (
                    f"waiting for the OpenBaoClusters in {target} to be deleted first ({names}): their deletion "
                    f"policy needs the operator's rights there, which go with this tenant"
                )
                await self._status(raw, _Result(True, "WaitingForClusters", message))
                return Outcome(requeue_after=WAIT_SECONDS)
            await self.release_binding(target)
        await self._finalizers(raw, [f for f in meta.get("finalizers") or () if f != TENANT_FINALIZER])
        return Outcome()

    async def release_binding(self, namespace: str) -> None:
        """Drop the binding's finalizer and delete it (both by name; gone or not ours: nothing to do)."""
        live = await self._get_binding(namespace)
        if live is None:
            return
        if TENANT_FINALIZER in ((live.get("metadata") or {}).get("finalizers") or ()):
            rest = [f for f in live["metadata"]["finalizers"] if f != TENANT_FINALIZER]
            try:
                await self.kube.merge_patch(
                    ROLEBINDING, TENANT_ROLE, {"metadata": {"finalizers": rest or None}}, namespace=namespace
                )
            except (NotFound, Forbidden):
                return
        try:
            await self.kube.delete(ROLEBINDING, TENANT_ROLE, namespace=namespace)
        except (NotFound, Forbidden):
            return

    async def _finalizers(self, raw: Manifest, finalizers: list[str]) -> Manifest:
        meta = raw.get("metadata") or {}
        patch = {"metadata": {"finalizers": finalizers or None, "resourceVersion": meta.get("resourceVersion")}}
        try:
            return await self.kube.merge_patch(TENANT, str(meta["name"]), patch, namespace=str(meta["namespace"]))
        except NotFound:
            return raw

    # -- status ------------------------------------------------------------------------------------------------

    async def _status(self, raw: Manifest, result: _Result, *, ignored: list[str] | None = None) -> None:
        live: Mapping[str, Any] = raw.get("status") or {}
        generation = int((raw.get("metadata") or {}).get("generation") or 0)
        conds = [Cond(PROVISIONED, "True" if result.provisioned else "False", result.reason, result.message)]
        if ignored:
            conds.append(
                Cond(
                    FIELDS_IGNORED,
                    "True",
                    "FieldsIgnored",
                    f"{', '.join(ignored)}: accepted for compatibility with the reference operator and not acted on "
                    "(this operator holds no right to ResourceQuotas or LimitRanges)",
                )
            )
        status: dict[str, Any] = {
            "provisioned": result.provisioned,
            "conditions": merge(conds, live.get("conditions"), generation=generation, now=self.clock()),
        }
        if not result.provisioned or result.reason != "Provisioned":
            status["lastError"] = result.message
        if _same(status, live):
            return
        body = {
            "apiVersion": raw["apiVersion"],
            "kind": raw["kind"],
            "metadata": {"name": raw["metadata"]["name"], "namespace": raw["metadata"]["namespace"]},
            "status": status,
        }
        try:
            await self.kube.apply_status(body, force=True)
        except NotFound:
            return


def _ignored(raw: Manifest) -> list[str]:
    spec = raw.get("spec") or {}
    return [f"spec.{name}" for name in ("quota", "limitRange") if spec.get(name)]


def _same(status: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    if status.get("provisioned") != live.get("provisioned") or status.get("lastError") != live.get("lastError"):
        return False
    strip = ("type", "status", "reason", "message", "observedGeneration")
    want = [{k: c.get(k) for k in strip} for c in status.get("conditions") or ()]
    have = [{k: c.get(k) for k in strip} for c in live.get("conditions") or ()]
    return want == have


__all__ = ["PROVISIONED", "Provisioner", "ProvisionerConfig", "tenant_binding"]
