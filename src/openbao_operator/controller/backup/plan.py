"""One backup pass for a cluster with ``spec.backup``: what to start, what to record, what to say.

The decision, in order:
1. **An attempt in flight** (``status.backup.jobName``): while its Job runs, hold (renew) the lock and look
   again later; when it has finished, record the outcome (success: time, key, size, duration, failures back to
   0; failure: one more consecutive failure, reason and message), release the lock, and say so in an Event.
   A Job that vanished before finishing counts as a failure. The schedule is then looked at in the same pass,
   so a failed backup never stops the next one.
2. **A trigger**: the manual annotation ``openbao.org/trigger-backup`` (the reference's key; any new value
   starts one backup, the value is remembered in ``lastHandledManualTrigger``) or the latest due slot of the
   schedule (:mod:`.cron`; each slot at most once, remembered in ``lastAttemptScheduledTime``; before any
   attempt, slots from the cluster's creation on count). One backup serves both when they coincide.
3. **Pre-flight** for a trigger: the cluster is Available (initialised, unsealed, serving), no rollout or
   upgrade is replacing pods, and the operation lock is free (or already ours). Otherwise the trigger stays
   due and the reason is in the ``BackingUp`` condition; nothing is recorded as attempted.
4. **Start**: the Job name is derived from the cluster uid and the trigger (so a crashed pass finds its Job
   again), the lock is taken, and the attempt is recorded.
``BackupHealthy`` says how the last attempt went (and counts the failures); ``nextScheduledBackup`` is the
next slot with this cluster's jitter; the requeue is when that is due (or a short poll while a Job runs or
a pre-flight waits).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from openbao_operator.api import names
from openbao_operator.api.operations import BackupConfig
from openbao_operator.api.status import BackupStatus, ConditionType, OperationLockStatus

from ..conditions import Cond, Status, rfc3339
from .cron import ScheduleError, parse_schedule, slots
from .jobs import ExecutorReport, JobView, parse_time
from .lock import BACKUP_HOLDER, LockDecision, acquire, backup_holder, release

TRIGGER_ANNOTATION = "openbao.org/trigger-backup"
POLL_RUNNING = 30.0
"""Seconds between looks at a running Job (its completion also arrives as a watch event)."""
POLL_WAITING = 15.0
"""Seconds between pre-flight checks while a due backup waits."""
MAX_IDLE_REQUEUE = 3600.0
"""Look at the schedule at least hourly (clock changes, a status edited by hand)."""

EventType = Literal["Normal", "Warning"]


@dataclass(frozen=True, kw_only=True)
class ClusterView:
    """What the backup decision needs to know about the cluster, observed by the caller."""

    name: str
    uid: str
    created_at: datetime
    annotations: Mapping[str, str] = field(default_factory=dict)
    available: bool
    """Initialised, unsealed and serving (the Available condition)."""
    unavailable_message: str = ""
    rolling_out: bool = False
    """A rollout or upgrade is replacing pods."""
    lock: OperationLockStatus | None = None
    lock_holder_alive: bool | None = None
    """Does the lock's holder (another operation's Job or OpenBaoRestore) still exist? None: unknown."""


@dataclass(frozen=True)
class StartJob:
    """Create the executor Job ``name`` (idempotent: an existing Job of that name is the same attempt)."""

    name: str
    trigger: Literal["schedule", "manual"]
    slot: datetime | None


@dataclass(frozen=True)
class BackupPlan:
    status: BackupStatus | None
    """status.backup to write (None: leave it out)."""
    lock: LockDecision | None
    """A change of status.operationLock, if any (write ``lock.lock`` when ``lock.changed``)."""
    start: StartJob | None = None
    conditions: tuple[Cond, ...] = ()
    events: tuple[tuple[EventType, str, str], ...] = ()
    """(type, reason, note)."""
    requeue_after: float | None = None


def _duration(started: datetime | None, finished: datetime | None) -> str | None:
    if started is None or finished is None or finished < started:
        return None
    return f"{int((finished - started).total_seconds())}s"


def _where(backup: BackupConfig) -> str:
    return f"{backup.target.provider}://{backup.target.bucket}"


def _finish(
    status: BackupStatus, job: JobView, report: ExecutorReport | None, backup: BackupConfig, now: datetime
) -> tuple[BackupStatus, tuple[EventType, str, str]]:
    """The status and Event for an attempt whose Job is done (or gone)."""
    if job.phase == "Succeeded" and (report is None or report.ok):
        finished = job.finished or now
        key = report.key if report is not None else None
        size = report.size if report is not None else None
        pruned = len(report.deleted) if report is not None else 0
        updated = status.model_copy(
            update={
                "last_backup_time": rfc3339(finished),
                "last_backup_name": key or status.last_backup_name,
                "last_backup_size": size if size is not None else status.last_backup_size,
                "last_backup_duration": _duration(job.started, finished),
                "consecutive_failures": 0,
                "job_name": None,
            }
        )
        what = f"snapshot {key} ({size} bytes)" if key else "a snapshot"
        note = f"Job {job.name} stored {what} in {_where(backup)}"
        if pruned:
            note += f"; retention deleted {pruned} older snapshot(s)"
        return updated, ("Normal", "BackupSucceeded", note)
    if job.phase == "Missing":
        reason, message = "BackupJobMissing", f"the executor Job {job.name} disappeared before it finished"
    elif report is not None and not report.ok:
        reason = report.reason or "BackupFailed"
        message = f"Job {job.name}: {report.message or reason}"
    else:
        reason = job.reason or "BackupFailed"
        message = f"Job {job.name} failed ({job.reason or 'no reason given'})" + (
            f": {job.message}" if job.message else ""
        )
    failures = (status.consecutive_failures or 0) + 1
    updated = status.model_copy(
        update={
            "consecutive_failures": failures,
            "last_failure_reason": reason,
            "last_failure_message": message,
            "last_failure_time": rfc3339(job.finished or now),
            "job_name": None,
        }
    )
    return updated, ("Warning", "BackupFailed", f"{message} ({failures} in a row; the next backup still runs)")


def _healthy(status: BackupStatus) -> Cond:
    kind = ConditionType.BACKUP_HEALTHY.value
    failures = status.consecutive_failures or 0
    if failures:
        return Cond(
            kind,
            "False",
            status.last_failure_reason or "BackupFailed",
            f"{failures} backup attempt(s) failed in a row; the last: {status.last_failure_message or 'no message'}",
        )
    if status.last_backup_time:
        return Cond(
            kind,
            "True",
            "BackupSucceeded",
            f"the last backup ({status.last_backup_name or 'unknown key'}) finished at {status.last_backup_time}",
        )
    return Cond(kind, "Unknown", "NoBackupYet", "no backup has finished yet")


def _backing_up(status: Status, reason: str, message: str) -> Cond:
    return Cond(ConditionType.BACKING_UP.value, status, reason, message)


def plan_backup(
    cluster: ClusterView,
    backup: BackupConfig | None,
    status: BackupStatus | None,
    *,
    job: JobView | None,
    report: ExecutorReport | None = None,
    now: datetime,
) -> BackupPlan:
    """One pass (see the module docstring). ``job`` is the Job named by ``status.jobName`` as observed."""
    if backup is None:
        # Backups were switched off: a lock we held is released; status.backup stays as history.
        lock = cluster.lock
        if lock is not None and (lock.holder or "").startswith(BACKUP_HOLDER):
            return BackupPlan(status=status, lock=release(lock, holder=lock.holder or ""))
        return BackupPlan(status=status, lock=None)

    current = status or BackupStatus()
    events: list[tuple[EventType, str, str]] = []
    lock_decision: LockDecision | None = None
    lock = cluster.lock

    if current.job_name:
        seen = job if job is not None and job.name == current.job_name else JobView(current.job_name, "Missing")
        holder = backup_holder(current.job_name)
        if seen.phase == "Running":
            held = acquire(
                lock, operation="Backup", holder=holder, message=f"Job {seen.name} is taking a snapshot", now=now
            )
            return BackupPlan(
                status=current,
                lock=held if held.changed else None,
                conditions=(
                    _healthy(current),
                    _backing_up("True", "BackupInProgress", f"Job {seen.name} is taking a snapshot"),
                ),
                events=((("Warning", "OperationLockTakenOver", held.message),) if held.taken_over is not None else ()),
                requeue_after=POLL_RUNNING,
            )
        current, event = _finish(current, seen, report, backup, now)
        events.append(event)
        lock_decision = release(lock, holder=holder)
        lock = lock_decision.lock

    try:
        schedule = parse_schedule(backup.schedule)
        schedule_error = None
    except ScheduleError as exc:
        schedule, schedule_error = None, str(exc)

    after = parse_time(current.last_attempt_scheduled_time) or cluster.created_at
    due_slot = next_run = None
    if schedule is not None:
        where = slots(schedule, uid=cluster.uid, now=now, after=after)
        due_slot, next_run = where.due, where.next_run
    token = (cluster.annotations.get(TRIGGER_ANNOTATION) or "").strip()
    manual = bool(token) and token != current.last_handled_manual_trigger
    current = current.model_copy(update={"next_scheduled_backup": rfc3339(next_run) if next_run else None})

    healthy = _healthy(current)
    if schedule_error is not None:
        healthy = Cond(ConditionType.BACKUP_HEALTHY.value, "False", "InvalidSchedule", schedule_error)
    idle_requeue = MAX_IDLE_REQUEUE
    if next_run is not None:
        idle_requeue = min(MAX_IDLE_REQUEUE, max(1.0, (next_run - now).total_seconds()))

    if not manual and due_slot is None:
        message = (
            f"next scheduled backup at {current.next_scheduled_backup}"
            if next_run
            else "no scheduled backup (the schedule is invalid or never fires); annotate the cluster with "
            f"{TRIGGER_ANNOTATION}=<any new value> for a backup now"
        )
        return BackupPlan(
            status=current,
            lock=lock_decision,
            conditions=(healthy, _backing_up("False", "Idle", message)),
            events=tuple(events),
            requeue_after=idle_requeue,
        )

    trigger: Literal["schedule", "manual"] = "manual" if manual else "schedule"
    slot_text = rfc3339(due_slot) if due_slot is not None else ""
    what = f"manual backup ({TRIGGER_ANNOTATION}={token})" if manual else f"scheduled backup of {slot_text}"
    waiting = None
    if not cluster.available:
        waiting = f"the {what} waits: the cluster is not Available ({cluster.unavailable_message or 'not ready'})"
    elif cluster.rolling_out:
        waiting = f"the {what} waits: a rollout is replacing pods"
    key = f"{cluster.uid}/manual/{token}" if manual else f"{cluster.uid}/schedule/{slot_text}"
    job_name = names.executor_job_name(cluster.name, "backup", key=key)
    taken: LockDecision | None = None
    if waiting is None:
        taken = acquire(
            lock,
            operation="Backup",
            holder=backup_holder(job_name),
            message=f"Job {job_name} is taking a snapshot",
            now=now,
            holder_alive=cluster.lock_holder_alive,
        )
        if not taken.granted:
            waiting = f"the {what} waits: {taken.message}"
    if waiting is not None:
        return BackupPlan(
            status=current,
            lock=lock_decision,
            conditions=(healthy, _backing_up("False", "BackupWaiting", waiting)),
            events=tuple(events),
            requeue_after=POLL_WAITING,
        )
    assert taken is not None
    if taken.taken_over is not None:
        events.append(("Warning", "OperationLockTakenOver", taken.message))
    update: dict[str, object] = {"last_attempt_time": rfc3339(now), "job_name": job_name}
    if manual:
        update["last_handled_manual_trigger"] = token
    if due_slot is not None:
        update["last_attempt_scheduled_time"] = rfc3339(due_slot)
    current = current.model_copy(update=update)
    events.append(("Normal", "BackupStarted", f"Job {job_name} started for the {what}"))
    return BackupPlan(
        status=current,
        lock=taken,
        start=StartJob(name=job_name, trigger=trigger, slot=due_slot),
        conditions=(healthy, _backing_up("True", "BackupInProgress", f"Job {job_name} is taking a snapshot")),
        events=tuple(events),
        requeue_after=POLL_RUNNING,
    )
