"""The backup step: scheduled and manual Raft snapshots through executor Jobs (the I/O of controller/backup/).

Why a step after the rollout: a backup's pre-flight asks whether the cluster is Available and whether a
rollout is replacing pods, which this pass has just decided. The decision itself is pure
(:func:`.backup.plan.plan_backup`: the attempt in flight, the schedule and the manual trigger, the pre-flight,
the operation lock, status.backup); this step observes what it needs, then carries the decision out:

1. the lock first (:mod:`.oplock`, a write that fails when the cluster changed since it was read; then the
   pass decides nothing more and looks again in a second), so a Job only ever runs under a lock it holds;
2. the executor's ServiceAccount and the Job (:mod:`.executor_jobs`; the Job's name is derived from the
   cluster's uid and the trigger, so a pass that crashed after creating it finds it again);
3. status.backup and the BackupHealthy/BackingUp conditions go into the status the summary step writes, the
   Events into the pass's Events, and the requeue is when the next slot is due (or a short look while a Job
   runs or a pre-flight waits).

The operator never holds snapshot bytes: the Job streams them from the active node to object storage.
A cluster without ``spec.backup`` (and no backup history or lock of a backup) costs nothing here.
"""

from __future__ import annotations

from openbao_operator.api.status import BackupStatus, ConditionType, OperationLockStatus
from openbao_operator.kube import KubeError, Manifest, ObjectKey
from openbao_operator.render.workload.executor_job import ExecutorRenderError, backup_job, executor_service_account

from .backup.jobs import ExecutorReport, JobView, parse_time
from .backup.lock import BACKUP_HOLDER, RESTORE_HOLDER
from .backup.plan import BackupPlan, ClusterView, plan_backup
from .conditions import Cond
from .executor_jobs import create_job, observe_job
from .kinds import JOB, RESTORE
from .oplock import LockRaced, live_lock, write_lock
from .status import available_condition, out_of_date
from .step import Context, Report
from .workload import current_workload

LOCK_RACE_SECONDS = 1.0
MISCONFIGURED_SECONDS = 300.0
"""A backup that cannot be started as configured is tried again this often (and at once on a spec change)."""


async def _holder_alive(ctx: Context, lock: OperationLockStatus | None) -> bool | None:
    """Does the lock's holder still exist? (None: no lock, or a holder this step cannot look up.)"""
    if lock is None or not lock.holder:
        return None
    reader = ctx.clients.reader
    if lock.holder.startswith(BACKUP_HOLDER):
        job = lock.holder.removeprefix(BACKUP_HOLDER)
        return await reader.get(JOB, ObjectKey(ctx.namespace, job)) is not None
    if lock.holder.startswith(RESTORE_HOLDER):
        name = lock.holder.removeprefix(RESTORE_HOLDER)
        try:
            return await reader.get(RESTORE, ObjectKey(ctx.namespace, name)) is not None
        except KubeError:
            return None
    return None


def _cluster_view(ctx: Context, lock: OperationLockStatus | None, alive: bool | None) -> ClusterView:
    workload = current_workload(ctx, target_replicas=ctx.facts.target_replicas)
    available = available_condition(workload)
    meta = ctx.raw["metadata"]
    return ClusterView(
        name=ctx.cluster.metadata.name,
        uid=ctx.owner_uid,
        created_at=parse_time(meta.get("creationTimestamp")) or ctx.now,
        annotations={str(k): str(v) for k, v in (meta.get("annotations") or {}).items()},
        available=available.status == "True" and ctx.facts.initialized,
        unavailable_message=available.message if ctx.facts.initialized else "OpenBao is not initialized",
        rolling_out=out_of_date(workload) > 0 or ctx.facts.rollout_waiting_for is not None,
        lock=lock,
        lock_holder_alive=alive,
    )


async def step(ctx: Context) -> Report:
    out = Report()
    backup = ctx.cluster.spec.backup
    live = ctx.live_model("backup", BackupStatus)
    lock = live_lock(ctx.raw)
    ours = lock is not None and (lock.holder or "").startswith(BACKUP_HOLDER)
    if backup is None and live is None and not ours:
        if ctx.clients.backup_metrics is not None:
            ctx.clients.backup_metrics.forget(ctx.namespace, ctx.key.name)
        return out
    job: JobView | None = None
    report: ExecutorReport | None = None
    if live is not None and live.job_name:
        job, report = await observe_job(
            reader=ctx.clients.reader, kube=ctx.clients.kube, namespace=ctx.namespace, name=live.job_name
        )
    view = _cluster_view(ctx, lock, await _holder_alive(ctx, lock) if not ours else None)
    plan = plan_backup(view, backup, live, job=job, report=report, now=ctx.now)
    new_job: Manifest | None = None
    if plan.start is not None:
        try:
            new_job = render_backup_job(ctx, plan.start.name)
        except ExecutorRenderError as exc:
            _misconfigured(ctx, live, str(exc), out)
            return out
    if plan.lock is not None and plan.lock.changed:
        try:
            ctx.raw = await write_lock(
                kube=ctx.clients.kube, reader=ctx.clients.reader, cluster=ctx.raw, lock=plan.lock.lock
            )
        except LockRaced:
            # NB: nothing of this decision is recorded: the next pass decides again from the cluster as it is
            _keep(ctx, live)
            out.after(LOCK_RACE_SECONDS)
            return out
    if new_job is not None:
        clients = ctx.clients
        await clients.applier.ensure(executor_service_account(ctx.cluster, ctx.render_facts, "backup"))
        # NB: False when the Job of this attempt exists already (an earlier pass crashed before its status
        # write): it is the same attempt, so the decision stands as it is
        await create_job(kube=clients.kube, reader=clients.reader, job=new_job)
    ctx.facts.backup_status = plan.status
    ctx.facts.backup_conditions = plan.conditions
    for type_, reason, note in plan.events:
        out.event(type_, reason, "Backup", note)
    _count(ctx, plan)
    if plan.requeue_after is not None:
        out.after(plan.requeue_after)
    return out


def _count(ctx: Context, plan: BackupPlan) -> None:
    metrics = ctx.clients.backup_metrics
    if metrics is None:
        return
    ns, name = ctx.namespace, ctx.key.name
    for _, reason, _ in plan.events:
        if reason in ("BackupSucceeded", "BackupFailed"):
            metrics.finished(ns, name, success=reason == "BackupSucceeded")
    if plan.start is not None:
        metrics.started(ns, name, trigger=plan.start.trigger)
    if plan.status is not None:
        metrics.observe(ns, name, plan.status)


def render_backup_job(ctx: Context, name: str) -> Manifest:
    """The backup executor Job ``name`` of spec.backup (a scheduled or manual backup, or an upgrade's pre-upgrade
    snapshot); raises ExecutorRenderError naming the field to set."""
    cluster, image = ctx.cluster, ctx.config.executor_image
    if not (cluster.spec.backup and (cluster.spec.backup.image or image)):
        raise ExecutorRenderError(
            "spec.backup.image",
            "no executor image: the operator runs without OPENBAO_OPERATOR_EXECUTOR_IMAGE (its own image, which "
            "deploy/operator.yaml and the chart set); set it, or set spec.backup.image",
        )
    return backup_job(cluster, ctx.render_facts, job_name=name, operator_image=image)


def _keep(ctx: Context, live: BackupStatus | None) -> None:
    """This pass changes nothing about backups: the status keeps what it said."""
    ctx.facts.backup_status = live
    kinds = {ConditionType.BACKUP_HEALTHY.value, ConditionType.BACKING_UP.value}
    ctx.facts.backup_conditions = tuple(
        Cond(str(c["type"]), c.get("status", "Unknown"), str(c.get("reason") or ""), str(c.get("message") or ""))
        for c in ctx.live_status.get("conditions") or ()
        if isinstance(c, dict) and c.get("type") in kinds
    )


def _misconfigured(ctx: Context, live: BackupStatus | None, message: str, out: Report) -> None:
    """A due backup cannot be started as configured: nothing is attempted or locked; the conditions and a
    Warning say what to set, and the next look is after a while (or at once on a spec change)."""
    ctx.facts.backup_status = live
    ctx.facts.backup_conditions = (
        Cond(ConditionType.BACKUP_HEALTHY.value, "False", "BackupMisconfigured", message),
        Cond(ConditionType.BACKING_UP.value, "False", "BackupMisconfigured", message),
    )
    out.event("Warning", "BackupMisconfigured", "Backup", message)
    out.after(MISCONFIGURED_SECONDS)
