"""One pass of an ``OpenBaoRestore``: its phase machine, pre-flight and operation lock.

Phases (the reference's): ``Pending`` → ``Validating`` → ``Running`` → ``Completed`` or ``Failed``; the last
two are final (the spec is immutable: a new attempt is a new OpenBaoRestore).

- **Pending**: the target OpenBaoCluster must exist in the restore's namespace. A restore created together
  with its cluster (the disaster-recovery path) may be seen first, so a missing target is waited for, up to
  :data:`TARGET_WAIT` after the restore's creation; then ``Failed`` (TargetNotFound).
- **Validating**: the executor must have a way to log in (``jwtAuthRole``, ``tokenSecretRef``, or the role
  ``selfInit.oidc`` created), else ``Failed`` at once (the request cannot succeed as written). Then the
  cluster must be Available (initialised and unsealed: OpenBao takes a snapshot only on a serving active
  node), no rollout may be replacing pods, and the operation lock must be free, stale, or overridden
  (``overrideOperationLock``, allowed only with ``force``). While one of these does not hold, the restore
  waits in Validating with the reason in ``message``, up to :data:`VALIDATING_WAIT`; then ``Failed``.
- **Running**: the lock is ours and the executor Job (deterministic name from the restore's uid) runs. Its end
  decides: ``Completed`` (the snapshot key and size recorded) or ``Failed`` (the executor's reason and
  message, which name no secret). A Job that vanishes before finishing fails the restore: a restore is never
  retried on its own, since a half-applied attempt needs a person to look.
- **Completed / Failed**: the lock is released if it is still ours; nothing else happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from openbao_operator.api import names
from openbao_operator.api.restore import OpenBaoRestoreSpec, OpenBaoRestoreStatus, RestorePhase
from openbao_operator.api.status import OperationLockStatus

from ..conditions import rfc3339
from .jobs import ExecutorReport, JobView
from .lock import LockDecision, acquire, release, restore_holder

TARGET_WAIT = timedelta(minutes=10)
VALIDATING_WAIT = timedelta(hours=1)
POLL = 15.0
"""Seconds between looks while waiting or while the Job runs (its end also arrives as a watch event)."""
FINAL: frozenset[str] = frozenset({"Completed", "Failed"})

EventType = Literal["Normal", "Warning"]


@dataclass(frozen=True, kw_only=True)
class RestoreRequest:
    name: str
    uid: str
    created_at: datetime
    spec: OpenBaoRestoreSpec
    status: OpenBaoRestoreStatus | None


@dataclass(frozen=True, kw_only=True)
class TargetView:
    """The target cluster as observed (``found`` False: it does not exist)."""

    found: bool
    available: bool = False
    unavailable_message: str = ""
    rolling_out: bool = False
    oidc_restore_role: bool = False
    """spec.selfInit.oidc created the restore JWT role (a login without jwtAuthRole/tokenSecretRef works)."""
    lock: OperationLockStatus | None = None
    lock_holder_alive: bool | None = None


@dataclass(frozen=True)
class RestorePlan:
    status: OpenBaoRestoreStatus
    """The restore's status to write (compare with the live one before writing)."""
    lock: LockDecision | None = None
    """A change of the target cluster's status.operationLock (write ``lock.lock`` when ``lock.changed``)."""
    job_name: str | None = None
    """Create (or find) the executor Job of this name."""
    events: tuple[tuple[EventType, str, str], ...] = ()
    requeue_after: float | None = None

    @property
    def phase(self) -> RestorePhase | None:
        return self.status.phase


def restore_job_name(request: RestoreRequest) -> str:
    return names.executor_job_name(request.spec.cluster, "restore", key=f"{request.uid}/restore")


def _status(current: OpenBaoRestoreStatus, phase: RestorePhase, message: str, **extra: object) -> OpenBaoRestoreStatus:
    return current.model_copy(update={"phase": phase, "message": message, **extra})


def plan_restore(
    request: RestoreRequest,
    target: TargetView,
    *,
    job: JobView | None,
    report: ExecutorReport | None = None,
    now: datetime,
) -> RestorePlan:
    """One pass (see the module docstring). ``job`` is the restore's Job as observed (None: not looked up)."""
    current = request.status or OpenBaoRestoreStatus()
    phase = current.phase or "Pending"
    holder = restore_holder(request.name)
    job_name = restore_job_name(request)
    cluster = request.spec.cluster

    if phase in FINAL:
        freed = release(target.lock, holder=holder) if target.found else None
        return RestorePlan(status=current, lock=freed if freed is not None and freed.changed else None)

    if phase == "Running":
        seen = job if job is not None else JobView(job_name, "Missing")
        if seen.phase == "Running":
            held = acquire(
                target.lock, operation="Restore", holder=holder, message=f"Job {job_name} is restoring", now=now
            )
            return RestorePlan(
                status=current, lock=held if held.changed else None, job_name=job_name, requeue_after=POLL
            )
        freed = release(target.lock, holder=holder)
        done = rfc3339(seen.finished or now)
        if seen.phase == "Succeeded" and (report is None or report.ok):
            size = report.size if report is not None else None
            message = f"restored {request.spec.source.key} into {cluster}"
            return RestorePlan(
                status=_status(
                    current,
                    "Completed",
                    message,
                    completion_time=done,
                    snapshot_key=request.spec.source.key,
                    snapshot_size=size,
                ),
                lock=freed,
                events=(("Normal", "RestoreCompleted", f"Job {job_name} {message}"),),
            )
        if seen.phase == "Missing":
            reason, message = "RestoreJobMissing", f"the executor Job {job_name} disappeared before it finished"
        elif report is not None and not report.ok:
            reason, message = report.reason or "RestoreFailed", f"Job {job_name}: {report.message or report.reason}"
        else:
            reason = seen.reason or "RestoreFailed"
            message = f"Job {job_name} failed ({reason})" + (f": {seen.message}" if seen.message else "")
        return RestorePlan(
            status=_status(current, "Failed", message, completion_time=done),
            lock=freed,
            events=(("Warning", reason, message),),
        )

    # Pending and Validating: the pre-flight.
    if not target.found:
        if now - request.created_at > TARGET_WAIT:
            message = f"the OpenBaoCluster {cluster} does not exist in this namespace"
            return RestorePlan(
                status=_status(current, "Failed", message, completion_time=rfc3339(now)),
                events=(("Warning", "TargetNotFound", message),),
            )
        return RestorePlan(
            status=_status(current, "Pending", f"waiting for the OpenBaoCluster {cluster} to exist"),
            requeue_after=POLL,
        )
    spec = request.spec
    if not (spec.jwt_auth_role or spec.token_secret_ref or target.oidc_restore_role):
        message = (
            f"the executor has no way to log in to {cluster}: set jwtAuthRole or tokenSecretRef (the cluster was not "
            "self-initialised with selfInit.oidc, which creates the restore role)"
        )
        return RestorePlan(
            status=_status(current, "Failed", message, completion_time=rfc3339(now)),
            events=(("Warning", "NoAuthentication", message),),
        )
    waiting = None
    taken: LockDecision | None = None
    if not target.available:
        waiting = f"the cluster {cluster} is not Available ({target.unavailable_message or 'not ready'})"
    elif target.rolling_out:
        waiting = f"a rollout is replacing the pods of {cluster}"
    else:
        taken = acquire(
            target.lock,
            operation="Restore",
            holder=holder,
            message=f"Job {job_name} is restoring {spec.source.key}",
            now=now,
            holder_alive=target.lock_holder_alive,
            override=spec.override_operation_lock,
        )
        if not taken.granted:
            waiting = taken.message
    if waiting is not None:
        if now - request.created_at > VALIDATING_WAIT:
            message = f"pre-flight did not pass within {int(VALIDATING_WAIT.total_seconds() // 60)} minutes: {waiting}"
            return RestorePlan(
                status=_status(current, "Failed", message, completion_time=rfc3339(now)),
                events=(("Warning", "PreflightTimedOut", message),),
            )
        return RestorePlan(status=_status(current, "Validating", f"waiting: {waiting}"), requeue_after=POLL)
    assert taken is not None
    events: list[tuple[EventType, str, str]] = []
    if taken.taken_over is not None:
        events.append(("Warning", "OperationLockTakenOver", taken.message))
    forced = " with force" if spec.force else ""
    events.append(("Normal", "RestoreStarted", f"Job {job_name} restores {spec.source.key} into {cluster}{forced}"))
    return RestorePlan(
        status=_status(
            current,
            "Running",
            f"Job {job_name} is restoring {spec.source.key}",
            start_time=current.start_time or rfc3339(now),
        ),
        lock=taken,
        job_name=job_name,
        events=tuple(events),
        requeue_after=POLL,
    )
