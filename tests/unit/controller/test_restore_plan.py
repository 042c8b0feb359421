"""The OpenBaoRestore phase machine: pre-flight, the lock, the Job's end, final phases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from openbao_operator.api.restore import OpenBaoRestoreSpec, OpenBaoRestoreStatus
from openbao_operator.controller.backup.jobs import ExecutorReport, JobView
from openbao_operator.controller.backup.lock import make_lock
from openbao_operator.controller.backup.restore import (
    TARGET_WAIT,
    VALIDATING_WAIT,
    RestoreRequest,
    TargetView,
    plan_restore,
    restore_job_name,
)
from openbao_operator.controller.conditions import rfc3339

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
KEY = "vault/prod/2026-12-03T030000Z-0a1b2c3d.snap"


def request(phase: str | None = None, **spec: Any) -> RestoreRequest:
    body = {"cluster": "prod", "source": {"target": {"bucket": "snaps"}, "key": KEY}, "jwtAuthRole": "r"} | spec
    status = OpenBaoRestoreStatus.model_validate({"phase": phase}) if phase else None
    return RestoreRequest(
        name="r1",
        uid="9e0c",
        created_at=T0,
        spec=OpenBaoRestoreSpec.model_validate(body),
        status=status,
    )


READY = TargetView(found=True, available=True)


def test_a_missing_target_is_waited_for_then_fails() -> None:
    plan = plan_restore(request(), TargetView(found=False), job=None, now=T0 + timedelta(minutes=1))
    assert plan.phase == "Pending"
    assert plan.job_name is None
    assert plan.requeue_after == 15.0
    late = plan_restore(
        request("Pending"), TargetView(found=False), job=None, now=T0 + TARGET_WAIT + timedelta(seconds=1)
    )
    assert late.phase == "Failed"
    assert late.events[0][:2] == ("Warning", "TargetNotFound")
    assert late.status.completion_time is not None


def test_no_way_to_log_in_fails_at_once_unless_oidc_made_the_role() -> None:
    bare = request(jwtAuthRole=None)
    plan = plan_restore(bare, READY, job=None, now=T0)
    assert plan.phase == "Failed"
    assert plan.events[0][1] == "NoAuthentication"
    assert "set jwtAuthRole or tokenSecretRef" in (plan.status.message or "")
    assert (
        plan_restore(bare, TargetView(found=True, available=True, oidc_restore_role=True), job=None, now=T0).phase
        == "Running"
    )
    assert (
        plan_restore(request(jwtAuthRole=None, tokenSecretRef={"name": "t"}), READY, job=None, now=T0).phase
        == "Running"
    )


def test_validating_waits_for_availability_rollouts_and_the_lock_then_times_out() -> None:
    other = make_lock(operation="Backup", holder="backup/j", acquired_at=rfc3339(T0), renewed_at=rfc3339(T0))
    for target, says in [
        (TargetView(found=True, available=False, unavailable_message="sealed"), "not Available (sealed)"),
        (TargetView(found=True, available=True, rolling_out=True), "a rollout is replacing the pods of prod"),
        (TargetView(found=True, available=True, lock=other, lock_holder_alive=True), "locked by Backup (backup/j)"),
    ]:
        plan = plan_restore(request("Pending"), target, job=None, now=T0 + timedelta(minutes=1))
        assert plan.phase == "Validating"
        assert plan.job_name is None
        assert plan.lock is None
        assert says in (plan.status.message or "")
        late = plan_restore(request("Validating"), target, job=None, now=T0 + VALIDATING_WAIT + timedelta(seconds=1))
        assert late.phase == "Failed"
        assert late.events[0][1] == "PreflightTimedOut"


def test_start_takes_the_lock_and_names_the_job_from_the_restore_uid() -> None:
    plan = plan_restore(request(), READY, job=None, now=T0)
    assert plan.phase == "Running"
    assert plan.status.start_time == rfc3339(T0)
    assert plan.job_name == restore_job_name(request())
    assert plan.job_name.startswith("prod-restore-")
    assert plan.lock is not None
    assert plan.lock.lock is not None
    assert plan.lock.lock.holder == "restore/r1"
    assert [e[1] for e in plan.events] == ["RestoreStarted"]


def test_override_with_force_takes_over_a_held_lock_and_says_so() -> None:
    other = make_lock(operation="Backup", holder="backup/j", acquired_at=rfc3339(T0), renewed_at=rfc3339(T0))
    plan = plan_restore(
        request(force=True, overrideOperationLock=True),
        TargetView(found=True, available=True, lock=other),
        job=None,
        now=T0,
    )
    assert plan.phase == "Running"
    assert [e[1] for e in plan.events] == ["OperationLockTakenOver", "RestoreStarted"]
    assert "with force" in plan.events[1][2]


def test_the_jobs_end_decides_completed_or_failed_and_frees_the_lock() -> None:
    running = request("Running")
    name = restore_job_name(running)
    ours = make_lock(operation="Restore", holder="restore/r1", renewed_at=rfc3339(T0))
    target = TargetView(found=True, available=True, lock=ours)
    still = plan_restore(running, target, job=JobView(name, "Running"), now=T0 + timedelta(minutes=1))
    assert still.phase == "Running"
    assert still.requeue_after == 15.0
    done = plan_restore(
        running,
        target,
        job=JobView(name, "Succeeded", finished=T0 + timedelta(minutes=2)),
        report=ExecutorReport(ok=True, key=KEY, size=123),
        now=T0 + timedelta(minutes=3),
    )
    assert done.phase == "Completed"
    assert (done.status.snapshot_key, done.status.snapshot_size) == (KEY, 123)
    assert done.status.completion_time == rfc3339(T0 + timedelta(minutes=2))
    assert done.lock is not None
    assert done.lock.lock is None
    failed = plan_restore(
        running,
        target,
        job=JobView(name, "Failed", reason="BackoffLimitExceeded"),
        report=ExecutorReport(ok=False, reason="SnapshotVerificationFailed", message="does not match the SHA-256"),
        now=T0 + timedelta(minutes=3),
    )
    assert failed.phase == "Failed"
    assert failed.events[0][1] == "SnapshotVerificationFailed"
    assert "does not match the SHA-256" in (failed.status.message or "")
    gone = plan_restore(running, target, job=None, now=T0 + timedelta(minutes=3))
    assert gone.phase == "Failed"
    assert gone.events[0][1] == "RestoreJobMissing"


def test_final_phases_only_release_a_lock_still_held() -> None:
    ours = make_lock(operation="Restore", holder="restore/r1")
    done = plan_restore(request("Completed"), TargetView(found=True, lock=ours), job=None, now=T0)
    assert done.phase == "Completed"
    assert done.lock is not None
    assert done.lock.lock is None
    assert done.events == ()
    assert plan_restore(request("Failed"), TargetView(found=True), job=None, now=T0).lock is None
