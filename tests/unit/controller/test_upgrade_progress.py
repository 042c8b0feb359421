"""The upgrade's state machine (controller/upgrade/progress.py): what each pass renders, gates and records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from openbao_operator.api.status import UpgradeStatus
from openbao_operator.controller.upgrade.progress import (
    GateOutcome,
    UpgradeView,
    after_gate,
    begin,
    finished,
    snapshot_done,
    snapshot_failed,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def view(**kw: Any) -> UpgradeView:
    base: dict[str, Any] = {
        "target": "2.7.2",
        "current": "2.6.2",
        "template_version": "2.6.2",
        "live": None,
        "lock": None,
        "initialized": True,
        "pre_upgrade_snapshot": False,
        "auto_rollback": False,
        "allow_downgrade_to": None,
        "now": NOW,
    }
    base.update(kw)
    return UpgradeView(**base)


def status(phase: str, **kw: Any) -> UpgradeStatus:
    return UpgradeStatus.model_validate({"phase": phase, "fromVersion": "2.6.2", "targetVersion": "2.7.2", **kw})


def test_a_version_change_starts_rolling_to_the_target_under_the_lock() -> None:
    run = begin(view())
    assert run.phase == "Rolling"
    assert run.status is not None
    assert (run.status.from_version, run.status.target_version) == ("2.6.2", "2.7.2")
    assert run.render_version is None  # the template moves to spec.version
    assert run.gate_version == "2.7.2"
    assert run.want_lock
    assert run.current_version == "2.6.2"  # currentVersion does not move until every pod passed the gate
    assert [e[1] for e in run.events] == ["UpgradeStarted"]
    assert run.condition is not None
    assert run.condition.status == "True"


def test_a_pre_upgrade_snapshot_holds_the_template_at_the_old_version_first() -> None:
    run = begin(view(pre_upgrade_snapshot=True))
    assert run.phase == "PreUpgradeSnapshot"
    assert run.render_version == "2.6.2"
    assert run.snapshot
    assert run.gate_version is None
    snapshot_done(run, key="bao/2026/snap.snap")
    assert str(run.phase) == "Rolling"
    assert run.status is not None
    assert run.status.snapshot == "bao/2026/snap.snap"
    assert run.render_version is None
    assert run.gate_version == "2.7.2"
    assert "UpgradeSnapshotTaken" in [e[1] for e in run.events]


def test_a_failed_snapshot_stops_before_any_pod_and_releases_the_lock() -> None:
    run = begin(view(pre_upgrade_snapshot=True))
    snapshot_failed(run, reason="ObjectStorageFailed", message="bucket missing", now=NOW)
    assert run.phase == "Stopped"
    assert run.halt
    assert not run.want_lock
    assert run.render_version == "2.6.2"
    assert run.problem is not None
    assert "bucket missing" in run.problem.message


def test_the_same_version_is_no_upgrade() -> None:
    run = begin(view(target="2.6.2"))
    assert run.status is None
    assert run.render_version is None
    assert run.gate_version is None
    assert not run.want_lock


def test_a_new_cluster_has_no_upgrade_until_a_version_is_known() -> None:
    assert begin(view(current=None, template_version=None)).gate_version is None
    assert begin(view(initialized=False)).gate_version is None


def test_a_downgrade_is_refused_and_the_template_stays_on_the_running_version() -> None:
    run = begin(view(target="2.6.1", current="2.7.2", template_version="2.7.2"))
    assert run.render_version == "2.7.2"
    assert run.problem is not None
    assert run.problem.reason == "DowngradeRefused"
    assert "openbao.org/allow-downgrade-to=2.6.1" in run.problem.message
    assert run.gate_version is None


def test_a_downgrade_named_by_the_annotation_rolls_like_an_upgrade() -> None:
    run = begin(view(target="2.6.1", current="2.7.2", template_version="2.7.2", allow_downgrade_to="2.6.1"))
    assert run.phase == "Rolling"
    assert run.gate_version == "2.6.1"
    assert "downgrade" in run.events[0][2]


def test_skipped_minor_versions_are_warned_about() -> None:
    run = begin(view(target="2.9.0"))
    assert run.phase == "Rolling"
    assert any(t == "Warning" and "2.7, 2.8" in note for t, _, note in run.events)


def test_an_upgrade_in_flight_resumes_as_its_phase_says() -> None:
    run = begin(view(live=status("Rolling", startedAt="2026-12-03T11:00:00Z")))
    assert run.phase == "Rolling"
    assert run.events == []  # resuming is not starting
    assert run.gate_version == "2.7.2"
    back = begin(view(live=status("RollingBack")))
    assert (back.render_version, back.gate_version) == ("2.6.2", "2.6.2")


def test_a_gate_stop_without_auto_rollback_stops_and_holds_the_old_version() -> None:
    run = begin(view())
    after_gate(
        run,
        GateOutcome("stop", pod="bao-2", reason="CrashLooping", message="restarted 3 times"),
        auto_rollback=False,
        now=NOW,
    )
    assert run.phase == "Stopped"
    assert run.status is not None
    assert run.status.stopped_pod == "bao-2"
    assert run.halt
    assert run.render_version == "2.6.2"
    assert run.problem is not None
    assert "bao-2" in run.problem.message
    assert "CrashLooping" in run.problem.message
    assert "set spec.version back to 2.6.2" in run.problem.message
    assert run.events[-1][:2] == ("Warning", "UpgradeStopped")
    # the next pass: still stopped, nothing replaced
    again = begin(view(live=run.status))
    assert again.halt
    assert again.render_version == "2.6.2"


def test_a_gate_stop_with_auto_rollback_rolls_back_while_the_new_version_never_led() -> None:
    run = begin(view(auto_rollback=True))
    after_gate(run, GateOutcome("stop", pod="bao-2", reason="CrashLooping", message="x"), auto_rollback=True, now=NOW)
    assert run.phase == "RollingBack"
    assert run.render_version == "2.6.2"
    assert not run.halt
    nxt = begin(view(live=run.status, auto_rollback=True))
    assert nxt.gate_version == "2.6.2"
    finished(nxt, now=NOW)
    assert nxt.phase == "RolledBack"
    assert nxt.current_version == "2.6.2"
    # spec.version still names the failed target: the cluster stays on 2.6.2 and does not try again
    after = begin(view(live=nxt.status, auto_rollback=True))
    assert after.render_version == "2.6.2"
    assert after.gate_version is None
    assert after.condition is not None
    assert after.condition.reason == "UpgradeRolledBack"


@pytest.mark.parametrize("auto_rollback", [True, False])
def test_the_condition_names_the_stopped_pod_and_reason_while_and_after_rolling_back(auto_rollback: bool) -> None:
    # Found by tests/integration/test_upgrade_e2e.py: after an autoRollback the Upgrading condition named the
    # stopped pod and the reason for one pass only; the RollingBack passes and the RolledBack pass did not, so
    # the settled condition depended on whether another pass happened to run.
    run = begin(view(auto_rollback=auto_rollback))
    stop = GateOutcome("stop", pod="bao-2", reason="CrashLooping", message="restarted 3 times")
    after_gate(run, stop, auto_rollback=auto_rollback, now=NOW)
    target = "2.7.2" if auto_rollback else "2.6.2"  # without autoRollback, the user sets the version back
    back = begin(view(target=target, live=run.status, auto_rollback=auto_rollback))
    assert back.phase == "RollingBack"
    assert back.condition is not None
    assert "bao-2" in back.condition.message
    assert "CrashLooping" in back.condition.message
    finished(back, now=NOW)
    assert back.status is not None
    assert back.status.phase == "RolledBack"
    assert back.condition is not None
    assert "bao-2" in back.condition.message
    assert "CrashLooping" in back.condition.message
    assert "bao-2" in back.events[-1][2]


def test_no_auto_rollback_once_a_new_version_pod_has_led() -> None:
    run = begin(view(auto_rollback=True))
    after_gate(run, GateOutcome("ok", new_version_active=True), auto_rollback=True, now=NOW)
    assert run.status is not None
    assert run.status.new_version_was_active
    after_gate(run, GateOutcome("stop", pod="bao-0", reason="HealthTimeout", message="x"), auto_rollback=True, now=NOW)
    assert run.phase == "Stopped"
    assert run.problem is not None
    assert "OpenBaoRestore" in run.problem.message


def test_setting_the_version_back_rolls_back_unless_the_new_version_led() -> None:
    run = begin(view(target="2.6.2", live=status("Stopped", stoppedPod="bao-2")))
    assert run.phase == "RollingBack"
    assert run.gate_version == "2.6.2"
    refused = begin(view(target="2.6.2", live=status("Rolling", newVersionWasActive=True)))
    assert refused.problem is not None
    assert refused.problem.reason == "RollbackRefused"
    assert refused.render_version == "2.7.2"
    allowed = begin(view(target="2.6.2", live=status("Rolling", newVersionWasActive=True), allow_downgrade_to="2.6.2"))
    assert allowed.phase == "RollingBack"


def test_a_third_version_after_a_stop_starts_again_from_the_old_version() -> None:
    run = begin(view(target="2.7.3", live=status("Stopped")))
    assert run.phase == "Rolling"
    assert run.status is not None
    assert (run.status.from_version, run.status.target_version) == ("2.6.2", "2.7.3")


def test_completion_moves_the_current_version() -> None:
    run = begin(view())
    finished(run, now=NOW)
    assert run.phase == "Completed"
    assert run.current_version == "2.7.2"
    assert not run.want_lock or run.phase not in ("Rolling",)
    assert [e[1] for e in run.events][-1] == "UpgradeCompleted"
    settled = begin(view(current="2.7.2", template_version="2.7.2", live=run.status))
    assert settled.gate_version is None
    assert settled.condition is not None
    assert settled.condition.reason == "UpgradeCompleted"


@pytest.mark.parametrize("phase", ["Rolling", "RollingBack"])
def test_a_wait_changes_nothing(phase: str) -> None:
    run = begin(view(live=status(phase)))
    after_gate(run, GateOutcome("wait", pod="bao-1", reason="Lagging", message="x"), auto_rollback=True, now=NOW)
    assert run.phase == phase
    assert run.events == []


def test_setting_the_version_back_is_announced_once() -> None:
    first = begin(view(target="2.6.2", live=status("Stopped", stoppedPod="bao-2")))
    assert [e[1] for e in first.events] == ["UpgradeRollingBack"]
    # the next passes see the RollingBack record (the user's or autoRollback's): no Event again
    again = begin(view(target="2.6.2", live=first.status))
    assert again.phase == "RollingBack"
    assert again.events == []
    assert again.gate_version == "2.6.2"
