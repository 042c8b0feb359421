"""The backup decision, the operation lock and the Job/report reading: one pass at a time, the clock given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from openbao_operator.api.operations import BackupConfig
from openbao_operator.api.status import BackupStatus
from openbao_operator.controller.backup.cron import jitter
from openbao_operator.controller.backup.jobs import ExecutorReport, JobView, job_view, parse_report
from openbao_operator.controller.backup.lock import RENEW_EVERY, STALE_AFTER, acquire, make_lock, release
from openbao_operator.controller.backup.plan import TRIGGER_ANNOTATION, BackupPlan, ClusterView, plan_backup
from openbao_operator.controller.conditions import rfc3339

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
UID = "0c5e1d2a-1111-4222-8333-444455556666"
BACKUP = BackupConfig.model_validate(
    {"schedule": "0 3 * * *", "target": {"provider": "s3", "bucket": "snaps", "endpoint": "http://minio:9000"}}
)


def cluster(**kw: Any) -> ClusterView:
    base: dict[str, Any] = {"name": "prod", "uid": UID, "created_at": T0 - timedelta(days=30), "available": True}
    return ClusterView(**(base | kw))


def cond(plan: BackupPlan, kind: str) -> tuple[str, str, str]:
    found = next(c for c in plan.conditions if c.type == kind)
    return found.status, found.reason, found.message


# ---- the lock -----------------------------------------------------------------------------------------------
def test_a_free_lock_is_taken_and_renewed_at_most_every_five_minutes() -> None:
    first = acquire(None, operation="Backup", holder="backup/j1", message="m", now=T0)
    assert first.granted
    assert first.changed
    assert first.lock is not None
    assert first.lock.acquired_at == first.lock.renewed_at == rfc3339(T0)
    soon = acquire(first.lock, operation="Backup", holder="backup/j1", message="m", now=T0 + timedelta(minutes=1))
    assert soon.granted
    assert not soon.changed
    later = acquire(first.lock, operation="Backup", holder="backup/j1", message="m", now=T0 + RENEW_EVERY)
    assert later.changed
    assert later.lock is not None
    assert later.lock.renewed_at == rfc3339(T0 + RENEW_EVERY)
    assert later.lock.acquired_at == rfc3339(T0)


def test_another_holder_is_refused_with_who_and_since_when() -> None:
    held = make_lock(operation="Restore", holder="restore/r1", acquired_at=rfc3339(T0), renewed_at=rfc3339(T0))
    refused = acquire(held, operation="Backup", holder="backup/j1", message="m", now=T0 + timedelta(minutes=1))
    assert not refused.granted
    assert not refused.changed
    assert refused.lock == held
    assert refused.message == f"the cluster is locked by Restore (restore/r1) since {rfc3339(T0)}; Backup waits"


def test_a_stale_lock_needs_both_age_and_a_gone_holder() -> None:
    held = make_lock(operation="Backup", holder="backup/old", acquired_at=rfc3339(T0), renewed_at=rfc3339(T0))
    late = T0 + STALE_AFTER + timedelta(seconds=1)
    assert not acquire(held, operation="Restore", holder="restore/r", message="m", now=late, holder_alive=True).granted
    assert not acquire(
        held, operation="Restore", holder="restore/r", message="m", now=T0 + timedelta(minutes=1), holder_alive=False
    ).granted
    taken = acquire(held, operation="Restore", holder="restore/r", message="m", now=late, holder_alive=False)
    assert taken.granted
    assert taken.taken_over == held
    assert "stale operation lock: Backup (backup/old)" in taken.message


def test_override_takes_any_lock_and_only_the_holder_releases() -> None:
    held = make_lock(operation="Backup", holder="backup/j", acquired_at=rfc3339(T0), renewed_at=rfc3339(T0))
    taken = acquire(held, operation="Restore", holder="restore/r", message="m", now=T0, override=True)
    assert taken.granted
    assert taken.taken_over == held
    assert taken.lock is not None
    assert taken.lock.holder == "restore/r"
    assert not release(taken.lock, holder="backup/j").changed
    freed = release(taken.lock, holder="restore/r")
    assert freed.changed
    assert freed.lock is None


# ---- Jobs and reports ------------------------------------------------------------------------------------------
def test_a_job_is_finished_only_by_its_complete_or_failed_condition() -> None:
    assert job_view("j", None).phase == "Missing"
    running = {
        "status": {
            "startTime": "2026-12-03T12:00:00Z",
            "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}],
        }
    }
    assert job_view("j", running).phase == "Running"
    done = {
        "status": {
            "startTime": "2026-12-03T12:00:00Z",
            "completionTime": "2026-12-03T12:00:42Z",
            "conditions": [{"type": "Complete", "status": "True"}],
        }
    }
    assert job_view("j", done) == JobView(
        "j", "Succeeded", started=T0, finished=T0 + timedelta(seconds=42), reason="", message=""
    )
    failed = {
        "status": {
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                    "lastTransitionTime": "2026-12-03T12:01:00Z",
                }
            ]
        }
    }
    view = job_view("j", failed)
    assert (view.phase, view.reason, view.finished) == ("Failed", "BackoffLimitExceeded", T0 + timedelta(minutes=1))


def test_the_report_line_is_read_from_the_end_and_junk_is_ignored() -> None:
    text = (
        'starting\n{"operation": "backup", "ok": true, "key": "k.snap", "size": 10, "sha256": "ab", "deleted": ["o"]}\n'
    )
    assert parse_report(text) == ExecutorReport(ok=True, key="k.snap", size=10, sha256="ab", deleted=("o",))
    assert parse_report('{"ok": false, "reason": "ObjectStorageFailed", "message": "denied"}') == ExecutorReport(
        ok=False, reason="ObjectStorageFailed", message="denied"
    )
    assert parse_report('not json\n[1]\n{"ok": 3}') is None
    assert parse_report(None) is None


# ---- the backup pass ---------------------------------------------------------------------------------------------
def test_without_a_due_slot_nothing_starts_and_the_next_run_is_in_status() -> None:
    status = BackupStatus.model_validate({"lastAttemptScheduledTime": "2026-12-03T03:00:00Z"})
    plan = plan_backup(cluster(), BACKUP, status, job=None, now=T0)
    assert plan.start is None
    assert plan.lock is None
    slot = datetime(2026, 12, 4, 3, tzinfo=UTC)
    run = slot + jitter(UID, slot=slot, following=slot + timedelta(days=1))
    assert plan.status is not None
    assert plan.status.next_scheduled_backup == rfc3339(run)
    assert plan.requeue_after == 3600.0  # the schedule is looked at at least hourly
    close = plan_backup(cluster(), BACKUP, status, job=None, now=run - timedelta(seconds=90))
    assert close.requeue_after == 90.0
    assert cond(plan, "BackingUp")[:2] == ("False", "Idle")
    assert cond(plan, "BackupHealthy")[:2] == ("Unknown", "NoBackupYet")


def test_a_due_slot_starts_one_job_takes_the_lock_and_records_the_attempt() -> None:
    plan = plan_backup(cluster(), BACKUP, None, job=None, now=T0)
    assert plan.start is not None
    assert plan.start.trigger == "schedule"
    assert plan.start.slot == datetime(2026, 12, 3, 3, tzinfo=UTC)
    assert plan.start.name.startswith("prod-backup-")
    assert len(plan.start.name) <= 63
    assert plan.lock is not None
    assert plan.lock.lock is not None
    assert (plan.lock.lock.operation, plan.lock.lock.holder) == ("Backup", f"backup/{plan.start.name}")
    assert plan.status is not None
    assert plan.status.job_name == plan.start.name
    assert plan.status.last_attempt_time == rfc3339(T0)
    assert plan.status.last_attempt_scheduled_time == "2026-12-03T03:00:00Z"
    assert [e[1] for e in plan.events] == ["BackupStarted"]
    # the same slot seen again by a pass that lost its status write: the same Job name
    assert plan_backup(cluster(), BACKUP, None, job=None, now=T0 + timedelta(seconds=5)).start == plan.start


def test_the_manual_annotation_starts_a_backup_once_per_value() -> None:
    recent = BackupStatus.model_validate({"lastAttemptScheduledTime": "2026-12-03T03:00:00Z"})
    view = cluster(annotations={TRIGGER_ANNOTATION: "2026-12-03T12:00:00Z"})
    plan = plan_backup(view, BACKUP, recent, job=None, now=T0)
    assert plan.start is not None
    assert plan.start.trigger == "manual"
    assert plan.start.slot is None
    assert plan.status is not None
    assert plan.status.last_handled_manual_trigger == "2026-12-03T12:00:00Z"
    handled = plan.status.model_copy(update={"job_name": None})
    assert plan_backup(view, BACKUP, handled, job=None, now=T0).start is None


def test_preflight_waits_for_availability_rollouts_and_the_lock_without_recording_an_attempt() -> None:
    for view, says in [
        (cluster(available=False, unavailable_message="0/3 pods ready"), "not Available (0/3 pods ready)"),
        (cluster(rolling_out=True), "a rollout is replacing pods"),
        (
            cluster(lock=make_lock(operation="Restore", holder="restore/r", renewed_at=rfc3339(T0))),
            "locked by Restore (restore/r)",
        ),
    ]:
        plan = plan_backup(view, BACKUP, None, job=None, now=T0)
        assert plan.start is None
        assert plan.lock is None
        assert plan.status is not None
        assert plan.status.last_attempt_time is None
        status, reason, message = cond(plan, "BackingUp")
        assert (status, reason) == ("False", "BackupWaiting")
        assert says in message
        assert plan.requeue_after == 15.0


def started(now: datetime = T0) -> tuple[BackupStatus, str]:
    plan = plan_backup(cluster(), BACKUP, None, job=None, now=now)
    assert plan.status is not None
    assert plan.start is not None
    assert plan.lock is not None
    return plan.status, plan.start.name


def test_a_running_job_holds_the_lock_and_polls() -> None:
    status, name = started()
    lock = make_lock(
        operation="Backup", holder=f"backup/{name}", renewed_at=rfc3339(T0), message=f"Job {name} is taking a snapshot"
    )
    plan = plan_backup(cluster(lock=lock), BACKUP, status, job=JobView(name, "Running"), now=T0 + timedelta(minutes=1))
    assert plan.start is None
    assert plan.lock is None
    assert plan.requeue_after == 30.0
    assert cond(plan, "BackingUp")[:2] == ("True", "BackupInProgress")


def test_success_records_key_size_duration_resets_failures_and_releases_the_lock() -> None:
    status, name = started()
    status = status.model_copy(update={"consecutive_failures": 2, "last_failure_reason": "ObjectStorageFailed"})
    lock = make_lock(operation="Backup", holder=f"backup/{name}", renewed_at=rfc3339(T0))
    done = JobView(name, "Succeeded", started=T0, finished=T0 + timedelta(seconds=42))
    report = ExecutorReport(ok=True, key="vault/prod/2026-12-03T120000Z-0a1b2c3d.snap", size=4096, deleted=("old",))
    plan = plan_backup(cluster(lock=lock), BACKUP, status, job=done, report=report, now=T0 + timedelta(minutes=1))
    assert plan.status is not None
    s = plan.status
    assert (s.last_backup_name, s.last_backup_size, s.last_backup_duration) == (report.key, 4096, "42s")
    assert s.last_backup_time == rfc3339(T0 + timedelta(seconds=42))
    assert (s.consecutive_failures, s.job_name) == (0, None)
    assert plan.lock is not None
    assert plan.lock.changed
    assert plan.lock.lock is None
    assert plan.events[0][:2] == ("Normal", "BackupSucceeded")
    assert "retention deleted 1 older snapshot" in plan.events[0][2]
    assert cond(plan, "BackupHealthy")[:2] == ("True", "BackupSucceeded")


def test_failures_are_counted_explained_and_the_next_slot_still_runs() -> None:
    status, name = started()
    failed = JobView(name, "Failed", started=T0, finished=T0 + timedelta(seconds=3), reason="BackoffLimitExceeded")
    report = ExecutorReport(ok=False, reason="ObjectStorageFailed", message="upload (s3://snaps): 403 Forbidden")
    plan = plan_backup(cluster(), BACKUP, status, job=failed, report=report, now=T0 + timedelta(minutes=1))
    assert plan.status is not None
    assert plan.status.consecutive_failures == 1
    assert plan.status.last_failure_reason == "ObjectStorageFailed"
    assert plan.events[0][:2] == ("Warning", "BackupFailed")
    assert "403 Forbidden" in plan.events[0][2]
    assert "1 in a row" in plan.events[0][2]
    health = cond(plan, "BackupHealthy")
    assert health[:2] == ("False", "ObjectStorageFailed")
    assert "1 backup attempt(s) failed" in health[2]
    # a vanished Job is a failure too, and the count goes on
    second = plan.status.model_copy(update={"job_name": "prod-backup-gone"})
    again = plan_backup(cluster(), BACKUP, second, job=None, now=T0 + timedelta(minutes=2))
    assert again.status is not None
    assert again.status.consecutive_failures == 2
    assert again.status.last_failure_reason == "BackupJobMissing"
    # the next day's slot starts a new Job although the last two failed
    tomorrow = T0 + timedelta(days=1)
    nxt = plan_backup(cluster(), BACKUP, again.status, job=None, now=tomorrow)
    assert nxt.start is not None
    assert nxt.start.slot == datetime(2026, 12, 4, 3, tzinfo=UTC)


def test_an_invalid_schedule_is_a_condition_and_manual_backups_still_work() -> None:
    bad = BACKUP.model_copy(update={"schedule": "every day"})
    plan = plan_backup(cluster(), bad, None, job=None, now=T0)
    assert plan.start is None
    health = cond(plan, "BackupHealthy")
    assert health[:2] == ("False", "InvalidSchedule")
    assert health[2].startswith("spec.backup.schedule:")
    manual = plan_backup(cluster(annotations={TRIGGER_ANNOTATION: "now"}), bad, None, job=None, now=T0)
    assert manual.start is not None
    assert manual.start.trigger == "manual"


def test_switching_backups_off_releases_our_lock_only() -> None:
    ours = make_lock(operation="Backup", holder="backup/prod-backup-x")
    plan = plan_backup(cluster(lock=ours), None, BackupStatus(), job=None, now=T0)
    assert plan.lock is not None
    assert plan.lock.changed
    assert plan.lock.lock is None
    theirs = make_lock(operation="Restore", holder="restore/r")
    assert plan_backup(cluster(lock=theirs), None, BackupStatus(), job=None, now=T0).lock is None
