"""The upgrade's state machine: what a pass does about ``spec.version``, from the spec, status and live template.

Why a state machine in status (``status.upgrade``): an upgrade spans many passes and may outlive the operator
process (a SIGKILL, a new leader). Everything a pass needs is in the cluster object (``status.upgrade``,
``status.currentVersion``, the lock), the StatefulSet (the version its template was rendered for) and the
pods (revision, creation time, restarts, OpenBao's labels), so a restarted operator decides exactly what the
previous one would have. The per-pod health is never taken from status: it is observed again (the gate).

Phases (docs/upgrades.md has the diagram):

- ``PreUpgradeSnapshot``: the template stays at ``fromVersion`` while the executor Job snapshots the cluster
  (``spec.upgrade.preUpgradeSnapshot``); success -> ``Rolling``, failure -> ``Stopped``.
- ``Rolling``: the template is at ``targetVersion``; the rollout replaces one pod at a time, standbys first,
  the active node last, and each replaced pod must pass the health gate (:mod:`.gate`) before the next is
  touched. All pods healthy on the target -> ``Completed`` (``status.currentVersion`` moves then, never
  before). A gate stop -> ``RollingBack`` with ``autoRollback`` while no pod of the target has been the active
  node, else ``Stopped``.
- ``Stopped``: the template goes back to ``fromVersion`` (a pod that dies comes back on the old version) and
  no pod is replaced; the pods that were upgraded stay as they are. Setting ``spec.version`` back to
  ``fromVersion`` rolls back (``RollingBack``); another version starts a new upgrade from ``fromVersion``.
- ``RollingBack``: the template is at ``fromVersion``, the rollout replaces the upgraded pods, gated the same
  way -> ``RolledBack``. While ``spec.version`` still names the failed target, the cluster stays on
  ``fromVersion``.

The lock (``status.operationLock``, operation ``Upgrade``) is held from the start to the end of the
snapshot and the rolling phases, so backups and restores wait; it is released when the upgrade stops,
completes or has rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from openbao_operator.api.status import OperationLockStatus, UpgradePhase, UpgradeStatus

from ..conditions import Cond, rfc3339
from ..status import Problem
from .versions import ALLOW_DOWNGRADE_ANNOTATION, Change, decide, parse

UPGRADING = "Upgrading"
HOLDER = "upgrade/"
IN_FLIGHT: frozenset[UpgradePhase] = frozenset({"PreUpgradeSnapshot", "Rolling", "Stopped", "RollingBack"})
LOCKED: frozenset[UpgradePhase] = frozenset({"PreUpgradeSnapshot", "Rolling", "RollingBack"})
EventType = Literal["Normal", "Warning"]


def holder(target: str) -> str:
    return HOLDER + target


def same(a: str | None, b: str | None) -> bool:
    """The same OpenBao version (build metadata aside); unparseable versions compare as text."""
    if a is None or b is None:
        return a == b
    pa, pb = parse(a), parse(b)
    return pa == pb if pa is not None and pb is not None else a == b


@dataclass(frozen=True)
class UpgradeView:
    """What the begin decision reads."""

    target: str
    """spec.version."""
    current: str | None
    """status.currentVersion."""
    template_version: str | None
    """The version the live StatefulSet's template was rendered for (its ``openbao.org/version``)."""
    live: UpgradeStatus | None
    """status.upgrade."""
    lock: OperationLockStatus | None
    initialized: bool
    pre_upgrade_snapshot: bool
    auto_rollback: bool
    allow_downgrade_to: str | None
    now: datetime


@dataclass
class UpgradeRun:
    """This pass's upgrade: set by the begin decision, moved on by the snapshot, the rollout gate and finish."""

    status: UpgradeStatus | None
    """status.upgrade to write (the live one when nothing changed; None: none)."""
    render_version: str | None = None
    """The version to render instead of spec.version (None: spec.version)."""
    gate_version: str | None = None
    """The rollout gates every pod on the update revision against this version (None: no gate)."""
    halt: bool = False
    """The rollout replaces no pod."""
    halt_reason: str = ""
    snapshot: bool = False
    """The pre-upgrade snapshot is to be taken (or looked at) in this pass."""
    want_lock: bool = False
    """The upgrade needs the operation lock (taken or renewed by the step)."""
    condition: Cond | None = None
    """Upgrading."""
    problem: Problem | None = None
    events: list[tuple[EventType, str, str]] = field(default_factory=list)
    current_version: str | None = None
    """status.currentVersion to write (None: keep what the finish step finds)."""
    requeue_after: float | None = None

    @property
    def phase(self) -> UpgradePhase | None:
        return self.status.phase if self.status is not None else None

    def move(self, phase: UpgradePhase, **changes: object) -> None:
        assert self.status is not None
        self.status = self.status.model_copy(update={"phase": phase, **changes})


def _cond(status: Literal["True", "False"], reason: str, message: str) -> Cond:
    return Cond(UPGRADING, status, reason, message)


def begin(view: UpgradeView) -> UpgradeRun:
    """What this pass does about the version, before rendering (see the module docstring)."""
    live = view.live
    if not view.initialized:
        return UpgradeRun(status=live)
    in_flight = live if live is not None and live.phase in IN_FLIGHT else None
    if in_flight is not None:
        if same(view.target, in_flight.target_version):
            return resume(in_flight)
        if same(view.target, in_flight.from_version):
            return _take_back(view, in_flight)
        running: str | None = in_flight.from_version
    else:
        running = view.current or view.template_version
        if live is not None and live.phase == "RolledBack" and same(view.target, live.target_version):
            return UpgradeRun(
                status=live,
                render_version=live.from_version,
                condition=_cond(
                    "False",
                    "UpgradeRolledBack",
                    f"the upgrade to {live.target_version} was rolled back to {live.from_version} "
                    f"({live.reason or 'stopped'}: {live.message or ''}); the cluster stays on {live.from_version} "
                    f"while spec.version is {view.target}: set it to {live.from_version}, or to a fixed version",
                ),
                current_version=live.from_version,
            )
    if running is None:
        return UpgradeRun(status=live)
    decision = decide(target=view.target, current=running, allow_downgrade_to=view.allow_downgrade_to)
    if decision.change is Change.NONE:
        return UpgradeRun(status=live, condition=_settled(live))
    if decision.change is Change.REFUSED:
        return UpgradeRun(
            status=live,
            render_version=running,
            condition=_cond("False", decision.reason, decision.message),
            problem=Problem(decision.reason, decision.message),
            current_version=running,
        )
    phase: UpgradePhase = "PreUpgradeSnapshot" if view.pre_upgrade_snapshot else "Rolling"
    started = UpgradeStatus.model_validate(
        {"phase": phase, "fromVersion": running, "targetVersion": view.target, "startedAt": rfc3339(view.now)}
    )
    run = resume(started)
    verb = "downgrade" if decision.change is Change.DOWNGRADE else "upgrade"
    first = "a pre-upgrade snapshot, then " if view.pre_upgrade_snapshot else ""
    run.events.append(
        (
            "Normal",
            "UpgradeStarted",
            f"{verb} from {running} to {view.target}: {first}one pod at a time, the active last",
        )
    )
    run.events += [("Warning", "UpgradeWarning", w) for w in decision.warnings]
    return run


def resume(up: UpgradeStatus) -> UpgradeRun:
    """Go on with an upgrade in flight, as its phase says."""
    src, dst = up.from_version, up.target_version
    run = UpgradeRun(status=up, current_version=src)
    if up.phase == "PreUpgradeSnapshot":
        run.render_version, run.snapshot, run.want_lock = src, True, True
        run.condition = _cond("True", "PreUpgradeSnapshot", f"upgrade {src} -> {dst}: taking the pre-upgrade snapshot")
    elif up.phase == "Rolling":
        run.gate_version, run.want_lock = dst, True
        run.condition = _cond("True", "Rolling", f"upgrade {src} -> {dst}: replacing pods one at a time")
    elif up.phase == "RollingBack":
        run.render_version, run.gate_version, run.want_lock = src, src, True
        message = f"upgrade {src} -> {dst}: rolling the upgraded pods back to {src}{_stopped_at(up)}"
        run.condition = _cond("True", "RollingBack", message)
    else:  # Stopped
        run.render_version, run.halt = src, True
        message = up.message or f"the upgrade {src} -> {dst} stopped"
        run.halt_reason = f"the upgrade stopped ({up.reason or 'Stopped'}); no pod is replaced"
        run.condition = _cond("False", "UpgradeStopped", message)
        run.problem = Problem("UpgradeStopped", message)
    return run


def _stopped_at(up: UpgradeStatus) -> str:
    """Where and why the upgrade stopped, for the rollback's condition and Event (every pass names it, not only
    the one that stopped)."""
    return f" after it stopped at {up.stopped_pod} ({up.reason or 'Stopped'})" if up.stopped_pod else ""


def _take_back(view: UpgradeView, up: UpgradeStatus) -> UpgradeRun:
    """spec.version was set back to the upgrade's fromVersion."""
    allowed = view.allow_downgrade_to is not None and same(view.allow_downgrade_to, up.from_version)
    if up.new_version_was_active and not allowed:
        run = resume(up)
        run.render_version = run.render_version or up.target_version
        message = (
            f"spec.version {view.target} would roll back the upgrade to {up.target_version}, but a pod of "
            f"{up.target_version} has been the active node, so OpenBao may have migrated the data: "
            f"restore the pre-upgrade snapshot{f' {up.snapshot}' if up.snapshot else ''} with an OpenBaoRestore, or "
            f"annotate the cluster {ALLOW_DOWNGRADE_ANNOTATION}={up.from_version} to roll back anyway"
        )
        run.problem = Problem("RollbackRefused", message)
        run.condition = _cond("False", "RollbackRefused", message)
        return run
    if up.phase == "PreUpgradeSnapshot":
        # nothing was replaced: the upgrade simply ends
        ended = up.model_copy(
            update={
                "phase": "RolledBack",
                "finished_at": rfc3339(view.now),
                "reason": "Cancelled",
                "message": f"spec.version set back to {up.from_version} before any pod was replaced",
            }
        )
        run = UpgradeRun(status=ended, current_version=up.from_version)
        run.events.append(("Normal", "UpgradeCancelled", ended.message or ""))
        return run
    if up.phase == "RollingBack":
        return resume(up)  # already on its way back (an earlier pass, or autoRollback): said once
    back = up.model_copy(update={"phase": "RollingBack"})
    run = resume(back)
    run.events.append(
        ("Normal", "UpgradeRollingBack", f"spec.version set back to {up.from_version}: rolling the upgraded pods back")
    )
    return run


def _settled(live: UpgradeStatus | None) -> Cond:
    if live is None:
        return _cond("False", "UpToDate", "no upgrade in progress")
    if live.phase == "Completed":
        return _cond("False", "UpgradeCompleted", f"upgraded from {live.from_version} to {live.target_version}")
    return _cond("False", "UpToDate", "no upgrade in progress")


@dataclass(frozen=True)
class GateOutcome:
    """What the rollout's gate found this pass (controller/upgrades.py turns it into a phase)."""

    verdict: Literal["ok", "wait", "stop"]
    pod: str | None = None
    reason: str = ""
    message: str = ""
    new_version_active: bool = False


def after_gate(run: UpgradeRun, gate: GateOutcome, *, auto_rollback: bool, now: datetime) -> None:
    """Record the gate's verdict: a stop moves the upgrade to Stopped (or RollingBack)."""
    up = run.status
    if up is None or run.phase not in ("Rolling", "RollingBack"):
        return
    if gate.new_version_active and run.phase == "Rolling" and not up.new_version_was_active:
        run.move("Rolling", new_version_was_active=True)
        up = run.status
        assert up is not None
    if gate.verdict != "stop":
        return
    src, dst = up.from_version, up.target_version
    if run.phase == "Rolling" and auto_rollback and not up.new_version_was_active:
        message = f"{gate.pod}: {gate.reason}: {gate.message}; autoRollback: rolling the upgraded pods back to {src}"
        run.move("RollingBack", stopped_pod=gate.pod, reason=gate.reason, message=message)
        run.events.append(("Warning", "UpgradeStopped", message))
        run.condition = _cond("True", "RollingBack", message)
        run.gate_version, run.render_version = None, src  # the template goes back first; gate from next pass
        run.requeue_after = 1.0
        return
    if run.phase == "RollingBack":
        remedy = f"the rollback to {src} stopped too; fix the pod, or restore a snapshot taken at {src}"
    elif up.new_version_was_active:
        remedy = (
            f"a pod of {dst} has been the active node, so the data may be {dst}'s: fix the cause and set spec.version "
            f"to a fixed version, or restore the pre-upgrade snapshot{f' {up.snapshot}' if up.snapshot else ''} "
            "with an OpenBaoRestore"
        )
    else:
        remedy = (
            f"no pod of {dst} has been the active node: set spec.version back to {src} to roll back, or to a fixed "
            "version to try again"
        )
    message = f"{gate.pod}: {gate.reason}: {gate.message}; the upgrade stopped here ({remedy})"
    run.move("Stopped", stopped_pod=gate.pod, reason=gate.reason, message=message, finished_at=rfc3339(now))
    run.events.append(("Warning", "UpgradeStopped", message))
    run.condition = _cond("False", "UpgradeStopped", message)
    run.problem = Problem("UpgradeStopped", message)
    run.halt, run.gate_version, run.render_version = True, None, src
    run.requeue_after = 1.0


def finished(run: UpgradeRun, *, now: datetime) -> None:
    """Every pod runs the gate's version and passed the gate: the upgrade completed (or rolled back)."""
    up = run.status
    if up is None:
        return
    if run.phase == "Rolling":
        note = f"every pod runs {up.target_version} and passed the health gate (from {up.from_version})"
        run.move("Completed", finished_at=rfc3339(now), reason=None, message=note)
        run.events.append(("Normal", "UpgradeCompleted", note))
        run.condition = _cond("False", "UpgradeCompleted", note)
        run.current_version = up.target_version
    elif run.phase == "RollingBack":
        src, dst = up.from_version, up.target_version
        note = f"every pod runs {src} again (the upgrade to {dst} was rolled back){_stopped_at(up)}"
        run.move("RolledBack", finished_at=rfc3339(now))
        run.events.append(("Normal", "UpgradeRolledBack", note))
        run.condition = _cond("False", "UpgradeRolledBack", note)
        run.current_version = up.from_version
    run.gate_version = None


def snapshot_done(run: UpgradeRun, *, key: str | None) -> None:
    """The pre-upgrade snapshot is stored: roll."""
    assert run.status is not None
    run.move("Rolling", snapshot=key)
    moved = resume(run.status)
    moved.events = [*run.events, ("Normal", "UpgradeSnapshotTaken", f"pre-upgrade snapshot stored: {key}")]
    _copy(moved, into=run)


def snapshot_failed(run: UpgradeRun, *, reason: str, message: str, now: datetime) -> None:
    """The pre-upgrade snapshot failed or cannot be taken: stop before any pod is touched."""
    assert run.status is not None
    text = (
        f"pre-upgrade snapshot: {message}; no pod was replaced (fix it and set spec.version again, or turn off "
        "spec.upgrade.preUpgradeSnapshot)"
    )
    run.move("Stopped", reason=reason, message=text, finished_at=rfc3339(now))
    moved = resume(run.status)
    moved.events = [*run.events, ("Warning", "UpgradeStopped", text)]
    _copy(moved, into=run)


def _copy(src: UpgradeRun, *, into: UpgradeRun) -> None:
    for name in UpgradeRun.__dataclass_fields__:
        setattr(into, name, getattr(src, name))


__all__ = [
    "HOLDER",
    "IN_FLIGHT",
    "LOCKED",
    "GateOutcome",
    "UpgradeRun",
    "UpgradeView",
    "after_gate",
    "begin",
    "finished",
    "holder",
    "resume",
    "same",
    "snapshot_done",
    "snapshot_failed",
]
