"""The OpenBaoRestore controller: one pass of a restore request, its I/O around the pure phase machine.

Why its own controller and not a step of the cluster's reconcile: a restore is a request object with its own
lifecycle (controller/backup/restore.py decides its phases); it is keyed by the restore, reads its target
cluster, and writes three things only: the cluster's ``status.operationLock`` (controller/oplock.py, a merge
patch carrying the cluster's resourceVersion), the restore's executor Job with its ServiceAccount, and the
restore's own status and Events. The operator never holds snapshot bytes: the Job does the restore.

Order of the I/O in a pass, and why:

1. A namespace that did not opt in (controller/tenancy.py, the same verdict as the cluster's first step): the
   status says how to opt in, the phase stays Pending, and nothing else is read or written (no Event: the
   operator may not write Events there).
2. A spec that does not parse fails the restore at once, naming the field (a lock it held is released).
3. Entering Running: the Job is rendered *before* the lock is taken, so a request that cannot be rendered
   fails without touching the cluster; then the lock (a race with another writer ends the pass: nothing
   else is done until a fresh read decides again), then the ServiceAccount, then the Job.
4. In Running, a Job missing from the cache is confirmed with a GET before the restore fails for it (a
   restore is never retried on its own, so a cache that lags must not fail it).
5. The restore's status, only when it differs; then the plan's Events.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from openbao_operator.api import OpenBaoCluster, parse_cluster
from openbao_operator.api.errors import InvalidClusterError
from openbao_operator.api.load import parse_as
from openbao_operator.api.restore import RESTORE_KIND, OpenBaoRestore, OpenBaoRestoreStatus
from openbao_operator.api.status import ConditionType
from openbao_operator.kube import Applier, KubeClient, Manifest, ObjectKey
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.executor_job import (
    ExecutorRenderError,
    executor_service_account,
    restore_job,
    restore_owner,
)

from . import tenancy
from .backup.jobs import ExecutorReport, JobView, job_view, parse_time
from .backup.lock import BACKUP_HOLDER, RESTORE_HOLDER, release, restore_holder
from .backup.restore import FINAL, RestorePlan, RestoreRequest, TargetView, plan_restore, restore_job_name
from .conditions import rfc3339
from .executor_jobs import create_job, observe_job
from .kinds import CLUSTER, JOB, RESTORE
from .oplock import LockRaced, live_lock, write_lock
from .sources import Reader
from .step import EventSink, EventType, Outcome, ReconcilerConfig

LOCK_RACED_SECONDS = 1.0
"""Another writer moved the cluster on while the lock was written: decide again this soon."""
ACTION = "Restore"


def _wall_now() -> datetime:
    return datetime.now(UTC)


def _condition(obj: Mapping[str, Any], type_: str) -> Mapping[str, Any]:
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if isinstance(cond, Mapping) and cond.get("type") == type_:
            return cond
    return {}


def oidc_restore_role(cluster: Mapping[str, Any]) -> bool:
    """spec.selfInit.oidc created the restore role (self-init enabled with oidc enabled)."""
    self_init = (cluster.get("spec") or {}).get("selfInit") or {}
    if not isinstance(self_init, Mapping) or not self_init.get("enabled"):
        return False
    oidc = self_init.get("oidc") or {}
    return isinstance(oidc, Mapping) and bool(oidc.get("enabled"))


def rolling_out(cluster: Mapping[str, Any]) -> bool:
    """A rollout is replacing pods: status.rollout.waitingFor is set, or Progressing is True."""
    rollout = (cluster.get("status") or {}).get("rollout") or {}
    waiting = isinstance(rollout, Mapping) and bool(rollout.get("waitingFor"))
    return waiting or _condition(cluster, ConditionType.PROGRESSING.value).get("status") == "True"


class Restorer:
    """Reconciles OpenBaoRestores; one instance per process, shared by the workers (no per-key state)."""

    def __init__(
        self,
        *,
        kube: KubeClient,
        reader: Reader,
        events: EventSink,
        config: ReconcilerConfig,
        tenancy_view: tenancy.TenancyView,
        clock: Callable[[], datetime] = _wall_now,
    ) -> None:
        self.kube = kube
        self.reader = reader
        self.events = events
        self.config = config
        self.tenancy = tenancy_view
        self.clock = clock
        self.applier = Applier(kube)

    async def reconcile(self, key: ObjectKey) -> Outcome:
        raw = await self.reader.get(RESTORE, key)
        if raw is None:
            return Outcome()
        now = self.clock()
        live_status: Mapping[str, Any] = raw.get("status") or {}
        if live_status.get("phase") in FINAL and not await self._holds_lock(raw, key):
            return Outcome()  # NB: the common case for old restores: nothing to read, nothing to write
        verdict = tenancy.decide(
            key.namespace,
            view=self.tenancy,
            operator_namespace=self.config.operator_namespace,
            deleting=False,
            resync=self.config.resync_seconds,
        )
        if verdict.decision is tenancy.Decision.WAIT:
            return Outcome(requeue_after=verdict.requeue_after)
        if verdict.decision is tenancy.Decision.NOT_ONBOARDED:
            message = tenancy.how_to_onboard(key.namespace, operator_namespace=self.config.operator_namespace)
            status = {**live_status, "phase": live_status.get("phase") or "Pending", "message": message}
            await self._write_status(raw, key, status)
            return Outcome(requeue_after=self.config.resync_seconds)
        try:
            restore = parse_as(raw, OpenBaoRestore, kind=RESTORE_KIND)
        except InvalidClusterError as exc:
            return await self._invalid(raw, key, exc, now=now)
        return await self._pass(raw, key, restore, now=now)

    async def _pass(self, raw: Manifest, key: ObjectKey, restore: OpenBaoRestore, *, now: datetime) -> Outcome:
        meta = raw["metadata"]
        request = RestoreRequest(
            name=key.name,
            uid=str(meta.get("uid") or ""),
            created_at=parse_time(meta.get("creationTimestamp")) or now,
            spec=restore.spec,
            status=restore.status,
        )
        cluster_key = ObjectKey(key.namespace, restore.spec.cluster)
        cluster = await self.reader.get(CLUSTER, cluster_key)
        target = await self._target(cluster, key.namespace)
        phase = (restore.status.phase if restore.status is not None else None) or "Pending"
        job: JobView | None = None
        report = None
        if phase == "Running":
            job, report = await self._observe(key.namespace, restore_job_name(request))
        plan = plan_restore(request, target, job=job, report=report, now=now)

        rendered: list[Manifest] = []
        if plan.job_name is not None and phase != "Running" and plan.phase == "Running":
            assert cluster is not None  # the plan enters Running only for a target that exists
            try:
                rendered = self._render(cluster, restore, uid=request.uid, job_name=plan.job_name)
            except (ExecutorRenderError, InvalidClusterError) as exc:
                plan = _failed(plan, restore.status, str(exc), reason="InvalidRestoreJob", now=now)
        if plan.lock is not None and plan.lock.changed and cluster is not None:
            try:
                await write_lock(kube=self.kube, reader=self.reader, cluster=cluster, lock=plan.lock.lock)
            except LockRaced:
                return Outcome(requeue_after=LOCK_RACED_SECONDS)
        if rendered:
            account, job_manifest = rendered
            await self.applier.ensure(account)
            await create_job(kube=self.kube, reader=self.reader, job=job_manifest)
        await self._write_status(raw, key, plan.status.to_json())
        for type_, reason, note in plan.events:
            await self._record(raw, type_, reason, note)
        return Outcome(requeue_after=plan.requeue_after)

    async def _target(self, cluster: Manifest | None, namespace: str) -> TargetView:
        if cluster is None:
            return TargetView(found=False)
        available = _condition(cluster, ConditionType.AVAILABLE.value)
        lock = live_lock(cluster)
        return TargetView(
            found=True,
            available=available.get("status") == "True",
            unavailable_message=str(available.get("message") or ""),
            rolling_out=rolling_out(cluster),
            oidc_restore_role=oidc_restore_role(cluster),
            lock=lock,
            lock_holder_alive=await self._holder_alive(lock.holder if lock is not None else None, namespace),
        )

    async def _holder_alive(self, holder: str | None, namespace: str) -> bool | None:
        """Does the lock's holder still exist (its backup Job, its OpenBaoRestore)? None: unknown holder."""
        if not holder:
            return None
        if holder.startswith(BACKUP_HOLDER):
            return await self.reader.get(JOB, ObjectKey(namespace, holder[len(BACKUP_HOLDER) :])) is not None
        if holder.startswith(RESTORE_HOLDER):
            return await self.reader.get(RESTORE, ObjectKey(namespace, holder[len(RESTORE_HOLDER) :])) is not None
        return None

    async def _observe(self, namespace: str, name: str) -> tuple[JobView, ExecutorReport | None]:
        job, report = await observe_job(reader=self.reader, kube=self.kube, namespace=namespace, name=name)
        if job.phase == "Missing":
            live = await self.reader.get(JOB, ObjectKey(namespace, name), direct=True)
            if live is not None:
                self.reader.wrote(JOB, ObjectKey(namespace, name), live)
                job, report = await observe_job(reader=self.reader, kube=self.kube, namespace=namespace, name=name)
                if job.phase == "Missing":  # a cache that cannot take it: decide from what the GET returned
                    job = job_view(name, live)
        return job, report

    def _render(self, cluster: Manifest, restore: OpenBaoRestore, *, uid: str, job_name: str) -> list[Manifest]:
        """The restore's ServiceAccount and Job (raises ExecutorRenderError or InvalidClusterError)."""
        model: OpenBaoCluster = parse_cluster(cluster)
        facts = RenderFacts(
            namespace=str(cluster["metadata"].get("namespace") or ""),
            cluster_domain=self.config.cluster_domain,
            operator_namespace=self.config.operator_namespace,
            owner_uid=str(cluster["metadata"].get("uid") or "") or None,
        )
        image = restore.spec.image or self.config.executor_image
        if not image:
            raise ExecutorRenderError(
                "spec.image", "no executor image: set spec.image, or the operator's OPENBAO_OPERATOR_EXECUTOR_IMAGE"
            )
        job = restore_job(model, facts, restore, restore_uid=uid, job_name=job_name, operator_image=image)
        account = executor_service_account(model, facts, "restore")
        # NB: owned by the restore, not the cluster: the cluster's prune step deletes whatever the cluster
        # controls and its render does not produce, and it would delete the ServiceAccount before the Job's
        # pod is created (the pod then never starts: serviceaccount not found). The next restore takes it over.
        account["metadata"]["ownerReferences"] = [restore_owner(restore, uid)]
        return [account, job]

    async def _invalid(self, raw: Manifest, key: ObjectKey, exc: InvalidClusterError, *, now: datetime) -> Outcome:
        """A spec that does not parse: Failed, naming the field; a lock this restore held is released."""
        live_status: Mapping[str, Any] = raw.get("status") or {}
        await self._release_lock(raw, key)
        message = f"invalid OpenBaoRestore: {exc.summary()}"
        status = {
            **live_status,
            "phase": "Failed",
            "message": message,
            "completionTime": live_status.get("completionTime") or rfc3339(now),
        }
        if await self._write_status(raw, key, status):
            await self._record(raw, "Warning", "InvalidSpec", message)
        return Outcome()

    def _cluster_key(self, raw: Manifest, key: ObjectKey) -> ObjectKey | None:
        name = (raw.get("spec") or {}).get("cluster")
        return ObjectKey(key.namespace, name) if isinstance(name, str) and name else None

    async def _holds_lock(self, raw: Manifest, key: ObjectKey) -> bool:
        cluster_key = self._cluster_key(raw, key)
        if cluster_key is None:
            return False
        cluster = await self.reader.get(CLUSTER, cluster_key)
        lock = live_lock(cluster) if cluster is not None else None
        return lock is not None and lock.holder == restore_holder(key.name)

    async def _release_lock(self, raw: Manifest, key: ObjectKey) -> None:
        cluster_key = self._cluster_key(raw, key)
        cluster = await self.reader.get(CLUSTER, cluster_key) if cluster_key is not None else None
        if cluster is None:
            return
        freed = release(live_lock(cluster), holder=restore_holder(key.name))
        if freed.changed:
            # NB: a race is left to the next pass (the cluster's event enqueues it), which releases it then
            with contextlib.suppress(LockRaced):
                await write_lock(kube=self.kube, reader=self.reader, cluster=cluster, lock=None)

    async def _write_status(self, raw: Manifest, key: ObjectKey, status: Mapping[str, Any]) -> bool:
        """Apply ``status`` when it differs from the live one; True when written."""
        if _normal(status) == _normal(raw.get("status") or {}):
            return False
        body = {
            "apiVersion": raw["apiVersion"],
            "kind": raw["kind"],
            "metadata": {"name": key.name, "namespace": key.namespace},
            "status": dict(status),
        }
        written = await self.kube.apply_status(body, force=True)
        self.reader.wrote(RESTORE, key, written)
        return True

    async def _record(self, raw: Manifest, type_: EventType, reason: str, note: str) -> None:
        await self.events.record(raw, type=type_, reason=reason, action=ACTION, note=note)


def _normal(status: Mapping[str, Any]) -> dict[str, Any]:
    """A status as the model writes it (unknown or unset fields do not count as a difference)."""
    try:
        return OpenBaoRestoreStatus.model_validate(dict(status)).to_json()
    except ValueError:
        return dict(status)


def _failed(
    plan: RestorePlan, current: OpenBaoRestoreStatus | None, message: str, *, reason: str, now: datetime
) -> RestorePlan:
    """The restore fails before it started: no lock is taken, no Job created."""
    status = (current or OpenBaoRestoreStatus()).model_copy(
        update={"phase": "Failed", "message": message, "completion_time": rfc3339(now)}
    )
    return RestorePlan(status=status, events=(("Warning", reason, message),))
