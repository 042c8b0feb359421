"""The upgrade steps: OpenBao version changes as gated, resumable rolling upgrades (the I/O of controller/upgrade/).

Why two steps around the rollout: what to render depends on the upgrade's phase (the template stays at the old
version during the pre-upgrade snapshot, after a stop and while rolling back), so :func:`begin` runs before
the render; whether the upgrade moves on depends on the replaced pods' health, which the rollout step checks
(:func:`gate`) before it touches the next pod; and :func:`finish` runs after the rollout, to release the lock
and emit the Events of what changed. The decisions are pure (:mod:`.upgrade.progress`, :mod:`.upgrade.gate`,
:mod:`.upgrade.versions`); this module reads the cluster, the Job and OpenBao, and writes the lock.

Nothing about an upgrade is kept in memory between passes: a restarted operator finds ``status.upgrade``,
the lock, the StatefulSet's rendered version and the pods, and goes on where the last pass was (the health
gate is observed again; a pod's time since replacement is its creationTimestamp, not a remembered time).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from datetime import timedelta

from openbao_operator.api.status import UpgradePodStatus, UpgradeStatus
from openbao_operator.baoapi import (
    AutopilotState,
    BaoApiError,
    BaoUnavailable,
    Health,
    LeaderInfo,
    Sensitive,
)
from openbao_operator.kube import Manifest
from openbao_operator.render.workload.executor_job import ExecutorRenderError, executor_service_account

from . import podview
from .backup.lock import acquire, describe, release
from .backups import render_backup_job
from .conditions import Cond
from .executor_jobs import create_job, observe_job
from .oplock import LockRaced, live_lock, write_lock
from .step import Context, Report
from .stsview import StatefulSetView
from .upgrade import gate as gates
from .upgrade.progress import (
    LOCKED,
    GateOutcome,
    UpgradeRun,
    UpgradeView,
    holder,
    snapshot_done,
    snapshot_failed,
)
from .upgrade.progress import (
    begin as decide_begin,
)
from .upgrade.versions import ALLOW_DOWNGRADE_ANNOTATION

LOCK_WAIT_SECONDS = 15.0
SNAPSHOT_POLL_SECONDS = 5.0
LOCK_RACE_SECONDS = 1.0


async def begin(ctx: Context) -> Report:
    """Decide the version this pass renders, take the lock, and run the pre-upgrade snapshot."""
    out = Report()
    cluster = ctx.cluster
    upgrade = cluster.spec.upgrade
    annotations = (ctx.raw.get("metadata") or {}).get("annotations") or {}
    live_sts = ctx.facts.live_sts
    view = UpgradeView(
        target=cluster.spec.version,
        current=str(ctx.live_status.get("currentVersion") or "") or None,
        template_version=StatefulSetView.of(live_sts).version,
        live=ctx.live_model("upgrade", UpgradeStatus),
        lock=live_lock(ctx.raw),
        initialized=ctx.facts.initialized,
        pre_upgrade_snapshot=bool(upgrade and upgrade.pre_upgrade_snapshot),
        auto_rollback=bool(upgrade and upgrade.auto_rollback),
        allow_downgrade_to=annotations.get(ALLOW_DOWNGRADE_ANNOTATION),
        now=ctx.now,
    )
    run = decide_begin(view)
    up = run.status
    if up is not None and not up.from_image and view.template_version == up.from_version:
        # NB: recorded while the template still runs fromVersion: a stop or a rollback renders this image again
        image = StatefulSetView.of(live_sts).image
        if image:
            run.move(up.phase, from_image=image)
    if run.want_lock and not await _hold_lock(ctx, run, view, out):
        ctx.facts.upgrade = run
        _hold_version(ctx, run)
        return out
    if run.snapshot:
        await _snapshot(ctx, run, out)
    ctx.facts.upgrade = run
    _hold_version(ctx, run)
    return out


async def _hold_lock(ctx: Context, run: UpgradeRun, view: UpgradeView, out: Report) -> bool:
    """Take or renew the Upgrade lock; False (and the pass holds the running version) when it cannot."""
    assert run.status is not None
    up = run.status
    decision = acquire(
        view.lock,
        operation="Upgrade",
        holder=holder(up.target_version),
        message=f"upgrade {up.from_version} -> {up.target_version} ({up.phase})",
        now=ctx.now,
    )
    if not decision.granted:
        # NB: not started (or not resumed) in this pass: status keeps what it said
        held = view.live.from_version if view.live is not None else (view.current or view.template_version)
        _held_back(run, view, render=held, message=f"upgrade to {up.target_version} waits: {decision.message}")
        run.condition = Cond("Upgrading", "False", "WaitingForOperationLock", run.halt_reason)
        out.after(LOCK_WAIT_SECONDS)
        return False
    if decision.changed:
        try:
            ctx.raw = await write_lock(
                kube=ctx.clients.kube, reader=ctx.clients.reader, cluster=ctx.raw, lock=decision.lock
            )
        except LockRaced:
            message = "the cluster changed while the upgrade lock was written"
            _held_back(run, view, render=view.current or view.template_version, message=message)
            out.after(LOCK_RACE_SECONDS)
            return False
    return True


def _held_back(run: UpgradeRun, view: UpgradeView, *, render: str | None, message: str) -> None:
    """This pass does nothing of the upgrade: the live record stays, ``render`` is rendered, no pod is replaced."""
    run.status, run.render_version = view.live, render
    run.gate_version, run.snapshot, run.events = None, False, []
    run.halt, run.halt_reason = True, message


def _hold_version(ctx: Context, run: UpgradeRun) -> None:
    """Render this pass at ``run.render_version`` when it differs from spec.version (the template is held)."""
    version = run.render_version
    cluster = ctx.cluster
    if not version or version == cluster.spec.version:
        return
    spec = cluster.spec.model_copy(update={"version": version})
    ctx.facts.cluster = cluster.model_copy(update={"spec": spec})
    view = StatefulSetView.of(ctx.facts.live_sts)
    up = run.status
    if view.version == version:
        # NB: the image the template ran at that version (a verified digest or a tag): kept as it is
        ctx.facts.held_image = view.image
    elif up is not None and up.from_image and version == up.from_version:
        ctx.facts.held_image = up.from_image


def _snapshot_job_name(ctx: Context, up: UpgradeStatus) -> str:
    digest = hashlib.sha256(f"{ctx.owner_uid}/{up.target_version}/{up.started_at}".encode()).hexdigest()[:8]
    return f"{ctx.key.name[:40]}-pre-upgrade-{digest}"


async def _snapshot(ctx: Context, run: UpgradeRun, out: Report) -> None:
    """Start, or look at, the pre-upgrade snapshot's executor Job (the backup executor, spec.backup's target)."""
    up = run.status
    assert up is not None
    clients = ctx.clients
    if not up.snapshot_job:
        name = _snapshot_job_name(ctx, up)
        try:
            if ctx.cluster.spec.backup is None:
                raise ExecutorRenderError(
                    "spec.backup", "is not set: the pre-upgrade snapshot is stored where spec.backup.target says"
                )
            job = render_backup_job(ctx, name)
        except ExecutorRenderError as exc:
            snapshot_failed(run, reason="PreUpgradeSnapshotMisconfigured", message=str(exc), now=ctx.now)
            return
        await clients.applier.ensure(executor_service_account(ctx.cluster, ctx.render_facts, "backup"))
        await create_job(kube=clients.kube, reader=clients.reader, job=job)
        run.move("PreUpgradeSnapshot", snapshot_job=name)
        run.events.append(("Normal", "UpgradeSnapshotStarted", f"pre-upgrade snapshot Job {name} started"))
        out.after(SNAPSHOT_POLL_SECONDS)
        return
    seen, report = await observe_job(
        reader=clients.reader, kube=clients.kube, namespace=ctx.namespace, name=up.snapshot_job
    )
    if seen.phase == "Succeeded" and (report is None or report.ok):
        snapshot_done(run, key=report.key if report is not None else None)
    elif seen.phase == "Failed" or (report is not None and not report.ok):
        why = (report.message if report is not None and report.message else None) or seen.message or seen.reason
        reason = (report.reason if report is not None and report.reason else None) or "PreUpgradeSnapshotFailed"
        snapshot_failed(run, reason=reason, message=f"Job {up.snapshot_job} failed: {why}", now=ctx.now)
    elif seen.phase == "Missing":
        snapshot_failed(run, reason="PreUpgradeSnapshotFailed", message=f"Job {up.snapshot_job} is gone", now=ctx.now)
    else:
        out.after(SNAPSHOT_POLL_SECONDS)


async def gate(
    ctx: Context, run: UpgradeRun, *, sts: Manifest, pods: Sequence[Manifest], token: Sensitive | None
) -> GateOutcome:
    """The health gate over every pod on the StatefulSet's update revision (the pods already replaced)."""
    assert run.gate_version is not None
    assert run.status is not None
    view = StatefulSetView.of(sts)
    target_rev = view.update_revision
    mine = sorted((p for p in pods if 0 <= podview.ordinal(p) < view.replicas), key=podview.ordinal)
    replaced = [p for p in mine if podview.revision(p) == target_rev and not podview.terminating(p)]
    previously = {p.name for p in run.status.pods or () if p.state == "Healthy"}
    observations = await asyncio.gather(*(_observe(ctx, p) for p in mine))
    by_name = {podview.name(p): o for p, o in zip(mine, observations, strict=True)}
    autopilot = await _autopilot(ctx, mine, by_name, token) if token is not None else None
    leader_index = _leader_index(by_name, autopilot)
    policy = gates.GatePolicy(
        timeout=timedelta(seconds=ctx.config.rollout_ready_timeout), require_autopilot=autopilot is not None
    )
    states: dict[str, UpgradePodStatus] = {}
    outcome: GateOutcome | None = None
    new_active = False
    for pod in mine:
        name = podview.name(pod)
        health, leader = by_name[name]
        version = (health.version if health is not None else None) or podview.version(pod)
        if pod not in replaced:
            states[name] = UpgradePodStatus(name=name, state="Pending", version=version)
            continue
        if health is not None and health.active and run.gate_version == run.status.target_version:
            new_active = True
        observed = _pod_health(pod, health, leader, autopilot, leader_index)
        created = podview.created(pod) or ctx.now
        decision = gates.decide(health=observed, target=run.gate_version, elapsed=ctx.now - created, policy=policy)
        verdict = decision.verdict
        if verdict is gates.Verdict.STOP and name in previously:
            verdict = gates.Verdict.WAIT  # it passed once: a later dip waits (RolloutStalled bounds it)
        state = {"Ok": "Healthy", "Wait": "Replacing", "Stop": "Failed"}[verdict.value]
        states[name] = UpgradePodStatus(name=name, state=state, version=version)
        if outcome is None and verdict is gates.Verdict.STOP:
            outcome = GateOutcome("stop", pod=name, reason=decision.reason, message=decision.message)
        elif outcome is None and verdict is gates.Verdict.WAIT:
            outcome = GateOutcome("wait", pod=name, reason=decision.reason, message=decision.message)
    run.move(run.status.phase, pods=list(states.values()))
    result = outcome or GateOutcome("ok")
    return GateOutcome(result.verdict, result.pod, result.reason, result.message, new_version_active=new_active)


async def _observe(ctx: Context, pod: Manifest) -> tuple[Health | None, LeaderInfo | None]:
    where = podview.target(ctx.cluster, pod, namespace=ctx.namespace, ca_pem=ctx.ca_pem)
    if where is None or podview.terminating(pod):
        return None, None
    client = ctx.clients.connect(where)
    try:
        health = await client.health()
    except (BaoUnavailable, BaoApiError):
        return None, None
    if health.sealed or not health.initialized:
        return health, None
    try:
        return health, await client.leader()
    except (BaoUnavailable, BaoApiError):
        return health, None


async def _autopilot(
    ctx: Context,
    pods: Sequence[Manifest],
    seen: dict[str, tuple[Health | None, LeaderInfo | None]],
    token: Sensitive,
) -> AutopilotState | None:
    """Autopilot's view, from the active node (any unsealed node forwards it otherwise)."""
    order = sorted(pods, key=lambda p: not (seen[podview.name(p)][0] or _NO_HEALTH).active)
    for pod in order:
        health = seen[podview.name(pod)][0]
        where = podview.target(ctx.cluster, pod, namespace=ctx.namespace, ca_pem=ctx.ca_pem)
        if health is None or health.sealed or where is None:
            continue
        try:
            return await ctx.clients.connect(where).autopilot_state(token)
        except (BaoUnavailable, BaoApiError):
            continue
    return None


_NO_HEALTH = Health(initialized=False, sealed=True, standby=True, version="")


def _leader_index(
    seen: dict[str, tuple[Health | None, LeaderInfo | None]], autopilot: AutopilotState | None
) -> int | None:
    if autopilot is not None and autopilot.leader in autopilot.servers:
        return autopilot.servers[autopilot.leader].last_index
    for _, leader in seen.values():
        if leader is not None and leader.is_self:
            return leader.committed_index
    return None


def _pod_health(
    pod: Manifest,
    health: Health | None,
    leader: LeaderInfo | None,
    autopilot: AutopilotState | None,
    leader_index: int | None,
) -> gates.PodHealth:
    name = podview.name(pod)
    restarts = podview.restarts(pod)
    if health is None:
        return gates.PodHealth(pod=name, restarts=restarts)
    server = autopilot.servers.get(name) if autopilot is not None else None
    joined = server is not None if autopilot is not None else leader is not None and bool(leader.leader_address)
    applied = server.last_index if server is not None else (leader.applied_index if leader is not None else None)
    return gates.PodHealth(
        pod=name,
        reachable=True,
        version=health.version or None,
        initialized=health.initialized,
        sealed=health.sealed,
        raft_joined=joined,
        voter=(server.status in ("voter", "leader")) if server is not None else None,
        autopilot_healthy=server.healthy if server is not None else None,
        applied_index=applied,
        leader_index=leader_index,
        restarts=restarts,
    )


async def finish(ctx: Context) -> Report:
    """After the rollout: release the lock when the upgrade no longer needs it; Events; currentVersion."""
    out = Report()
    run = ctx.facts.upgrade
    if run is None:
        return out
    lock = live_lock(ctx.raw)
    up = run.status
    if up is not None and up.phase not in LOCKED and lock is not None:
        decision = release(lock, holder=holder(up.target_version))
        if decision.changed:
            try:
                ctx.raw = await write_lock(kube=ctx.clients.kube, reader=ctx.clients.reader, cluster=ctx.raw, lock=None)
            except LockRaced:
                out.after(LOCK_RACE_SECONDS)
    elif up is not None and lock is not None and lock.holder != holder(up.target_version) and up.phase in LOCKED:
        out.problem("UpgradeLockLost", f"the upgrade's lock is held by {describe(lock)}")
    for type_, reason, note in run.events:
        out.event(type_, reason, "Upgrade", note)
    run.events = []
    if run.problem is not None:
        out.problem(run.problem.reason, run.problem.message)
    if run.requeue_after is not None:
        out.after(run.requeue_after)
    ctx.facts.current_version = _current_version(ctx, run)
    return out


def _current_version(ctx: Context, run: UpgradeRun) -> str | None:
    """status.currentVersion: moves only when every pod runs the version (and, in an upgrade, passed the gate)."""
    live = str(ctx.live_status.get("currentVersion") or "") or None
    if run.current_version is not None:
        return run.current_version
    if not ctx.facts.initialized:
        return live
    sts = StatefulSetView.of(ctx.facts.live_sts)
    rendered = ctx.cluster.spec.version
    settled = (
        sts.observed
        and sts.version == rendered
        and sts.update_revision is not None
        and ctx.facts.rollout_waiting_for is None
        and sts.updated_replicas >= sts.replicas
    )
    return rendered if settled else live


__all__ = ["begin", "finish", "gate"]
