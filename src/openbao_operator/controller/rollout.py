"""The rollout step: replace out-of-date pods one at a time, standbys first, the active node last.

Why: OpenBao's upgrade rule is "do not fail over from a newer version to an older one", and a
rollout should cost exactly one leadership change. The StatefulSet uses ``updateStrategy: OnDelete``, so a
changed pod template (config hash, image or version, certificate hash, ``openbao.org/restart-at``) only
gives the StatefulSet a new ``updateRevision``; the pods keep running until this step deletes them. Each
pass deletes at most one pod, and only when every other pod is Ready:

1. a pod on the target revision that stays not Ready longer than ``ready_timeout`` halts the rollout
   (``Degraded``/``RolloutStalled``; the cluster keeps serving on the other pods) until the spec changes;
2. otherwise wait while any pod is missing, terminating or not Ready (a replacement is joining/unsealing);
3. victims in order: out-of-date pods that are not Ready (they serve nothing; e.g. a broken replacement
   after the spec was fixed), then out-of-date standbys from the highest ordinal down, then the active
   node, which is asked to ``sys/step-down`` first (with the operator's own token under selfInit.oidc, else
   the stored root token: controller/operator_token.py; without one, e.g. under plain selfInit, its graceful
   SIGTERM shutdown releases the lock), so leadership moves once, to an updated pod;
4. with a token, a Raft voter is replaced only when the other healthy voters keep a quorum without it
   (:func:`quorum_hold`, from autopilot's state): right after a bootstrap the other servers are non-voters
   until autopilot promotes them, and the leader replaced then left nobody to elect.

Leadership is read from OpenBao's ``openbao-active`` pod label and confirmed with ``sys/health`` on the
victim (a stale label must not let the leader be deleted as if it were a standby). ``spec.paused`` halts the
rollout because a paused cluster is not reconciled at all, and a restore holding ``status.operationLock``
halts it until the restore ends (a pod replaced mid-restore could come back on either side of it). The
planner is pure; :func:`execute` does the I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.baoapi import AutopilotState, BaoApiError, BaoUnavailable, Sensitive
from openbao_operator.kube import Conflict, KubeClient, Manifest, NotFound, ObjectKey, Preconditions

from . import podview, upgrades
from .backup.lock import describe
from .bootstrap import BaoConnect
from .kinds import POD
from .operator_token import key_of, operator_token, refused
from .oplock import live_lock
from .sources import Reader
from .status import Problem
from .step import Context, Report
from .stsview import StatefulSetView
from .upgrade import gate as gates
from .upgrade.progress import UpgradeRun, after_gate, finished
from .workload import own_statefulset

RESTORE_WAIT_SECONDS = 15.0
"""Look again this often while a restore holds the operation lock (its end also arrives as a watch event)."""
Action = Literal["none", "wait", "stalled", "replace"]
Role = Literal["not-ready", "standby", "active"]


@dataclass(frozen=True)
class RolloutPlan:
    action: Action
    target_revision: str | None = None
    out_of_date: tuple[str, ...] = ()
    waiting_for: str | None = None
    victim: Manifest | None = None
    role: Role | None = None
    problem: Problem | None = None


def plan_rollout(sts: Manifest | None, pods: Sequence[Manifest], *, now: datetime, ready_timeout: float) -> RolloutPlan:
    view = StatefulSetView.of(sts)
    target = view.update_revision
    if target is None:
        return RolloutPlan("none")
    replicas = view.replicas
    mine = sorted((p for p in pods if 0 <= podview.ordinal(p) < replicas), key=podview.ordinal)
    stale = [p for p in mine if podview.revision(p) != target]
    if not stale:
        return RolloutPlan("none", target_revision=target)
    stale_names = tuple(podview.name(p) for p in stale)

    def plan(action: Action, **kw: object) -> RolloutPlan:
        return RolloutPlan(action, target_revision=target, out_of_date=stale_names, **kw)  # type: ignore[arg-type]

    for p in mine:
        since = podview.not_ready_since(p)
        if podview.revision(p) == target and since is not None and (now - since).total_seconds() > ready_timeout:
            message = (
                f"replacement pod {podview.name(p)} (revision {target}) has not become Ready within "
                f"{int(ready_timeout)} s; the rollout is halted ({len(stale)} pod(s) still on an older revision); "
                "fix the spec to resume"
            )
            return plan(
                "stalled", waiting_for=f"{podview.name(p)} to become Ready", problem=Problem("RolloutStalled", message)
            )
    present = {podview.ordinal(p) for p in mine}
    missing = [i for i in range(replicas) if i not in present]
    if missing:
        return plan("wait", waiting_for=f"pod ordinal {missing[0]} to be created")
    not_ready = [p for p in mine if not podview.ready(p)]
    stale_not_ready = [p for p in not_ready if podview.revision(p) != target and not podview.terminating(p)]
    if len(not_ready) == 1 and stale_not_ready:
        return plan("replace", victim=stale_not_ready[0], role="not-ready")
    if not_ready:
        return plan("wait", waiting_for=f"{podview.name(not_ready[0])} to become Ready")
    standbys = [p for p in stale if not podview.active(p)]
    if standbys:
        return plan("replace", victim=standbys[-1], role="standby")
    return plan("replace", victim=stale[-1], role="active")


@dataclass(frozen=True)
class RolloutResult:
    waiting_for: str | None
    event: tuple[str, str] | None = None
    problem: Problem | None = None
    retry_after: float | None = None
    token_refused: bool = False
    """OpenBao answered 403 to the token (a held operator token is forgotten)."""


async def execute(
    plan: RolloutPlan,
    cluster: OpenBaoCluster,
    *,
    namespace: str,
    ca_pem: str | None,
    token: Sensitive | None,
    kube: KubeClient,
    reader: Reader,
    connect: BaoConnect,
    token_note: str = "",
) -> RolloutResult:
    """``token_note``: how the token was obtained, or why there is none (for the Event's note)."""
    if plan.action == "none":
        return RolloutResult(waiting_for=None)
    if plan.action == "stalled":
        return RolloutResult(waiting_for=plan.waiting_for, problem=plan.problem, retry_after=30.0)
    if plan.action == "wait":
        return RolloutResult(waiting_for=plan.waiting_for, retry_after=5.0)
    victim = plan.victim
    assert victim is not None
    name = podview.name(victim)
    role = plan.role
    if role != "not-ready":
        where = podview.target(cluster, victim, namespace=namespace, ca_pem=ca_pem)
        client = connect(where) if where is not None else None
        try:
            health = await client.health() if client is not None else None
        except (BaoUnavailable, BaoApiError) as exc:
            return RolloutResult(waiting_for=f"{name} to answer sys/health ({type(exc).__name__})", retry_after=5.0)
        if health is not None and health.active:
            role = "active"
        elif role == "active" and health is not None:
            # the label said active, the node says standby: leadership moved; replace it as a standby
            role = "standby"
        if role == "active" and client is not None and token is not None:
            try:
                await client.step_down(token)
            except (BaoUnavailable, BaoApiError) as exc:
                return RolloutResult(
                    waiting_for=f"{name} to step down ({exc})", retry_after=5.0, token_refused=refused(exc)
                )
    try:
        await kube.delete(
            POD, name, namespace=namespace, preconditions=Preconditions(uid=str(victim["metadata"]["uid"]))
        )
    except (NotFound, Conflict):
        return RolloutResult(waiting_for=f"{name} to be replaced", retry_after=1.0)
    reader.wrote(POD, ObjectKey(namespace, name), None)
    how = {
        "not-ready": "an out-of-date pod that was not Ready",
        "standby": "a standby",
        "active": f"the active node, after sys/step-down {token_note or 'with the stored root token'}"
        if token is not None
        else f"the active node ({token_note or 'no stored token'}: its graceful shutdown releases leadership)",
    }[role or "standby"]
    note = (
        f"deleted {name} ({how}, revision {podview.revision(victim)}) to replace it with revision "
        f"{plan.target_revision}; {len(plan.out_of_date) - 1} more out of date"
    )
    return RolloutResult(waiting_for=f"{name} to be replaced and Ready", event=("PodReplaced", note), retry_after=2.0)


async def _upgrade_gate(
    ctx: Context,
    run: UpgradeRun,
    plan: RolloutPlan,
    sts: Manifest,
    pods: Sequence[Manifest],
    token: Sensitive | None,
    out: Report,
) -> bool:
    """In an upgrade: may the rollout go on? Every pod already replaced must pass the health gate first
    (controller/upgrades.py); all replaced and healthy ends the upgrade. False: this pass replaces nothing."""
    view = StatefulSetView.of(sts)
    if not view.observed or view.version != run.gate_version:
        ctx.facts.rollout_waiting_for = f"the StatefulSet to move to {run.gate_version}"
        out.after(1.0)
        return False
    outcome = await upgrades.gate(ctx, run, sts=sts, pods=pods, token=token)
    after_gate(
        run,
        outcome,
        auto_rollback=bool(ctx.cluster.spec.upgrade and ctx.cluster.spec.upgrade.auto_rollback),
        now=ctx.now,
    )
    if outcome.verdict == "stop":
        ctx.facts.rollout_waiting_for = run.halt_reason or f"the upgrade stopped at {outcome.pod}"
        return False
    if outcome.verdict == "wait":
        ctx.facts.rollout_waiting_for = f"{outcome.pod} to pass the upgrade's health gate ({outcome.reason})"
        out.after(gates.POLL.total_seconds())
        return False
    if plan.action == "none":
        pending = upgrade_pending(sts, pods)
        if pending is None:
            finished(run, now=ctx.now)
        else:
            ctx.facts.rollout_waiting_for = pending
            out.after(1.0)
    return True


QUORUM_WAIT_SECONDS = 5.0
"""Look again this often while replacing the next pod would cost the Raft quorum."""


def quorum_hold(state: AutopilotState | None, victim: str) -> str | None:
    """What replacing ``victim`` must wait for so that the Raft cluster keeps its quorum (None: nothing).

    Raft's quorum counts voters only, and a server that joined (or came back) is a non-voter until autopilot
    has seen it healthy for its stabilization time. Replacing the one voter of a cluster whose other servers
    are still non-voters leaves nobody who may be elected: the cluster has no active node until the replaced
    pod is back, and the old leader takes over again (seen right after a bootstrap: 26 s without an active
    node). So a voter goes only when the other healthy voters are a quorum of the voters without it. A
    non-voter goes at once, as does the only server (nothing could take over), a voter whose other servers are
    all healthy voters already (two servers: waiting would change nothing), and anything when autopilot could
    not be read (no token, or no unsealed node answered): the rollout then keeps its older rule of Ready pods
    only. A server demoted for good by hand holds the rollout until it is promoted (status says so)."""
    if state is None or len(state.servers) <= 1:
        return None
    server = state.servers.get(victim)
    if server is None or server.status not in _VOTING:
        return None
    voters = [s for s in state.servers.values() if s.status in _VOTING]
    others = [s.node_id for s in voters if s.node_id != victim and s.healthy]
    quorum = len(voters) // 2 + 1
    if len(others) >= quorum:
        return None
    if not any(s.node_id != victim and (s.status not in _VOTING or not s.healthy) for s in state.servers.values()):
        # every other server is a healthy voter and still too few (two servers): waiting changes nothing
        return None
    waiting = sorted(s.node_id for s in state.servers.values() if s.node_id != victim and s not in voters)
    detail = (
        f" ({', '.join(waiting)}: non-voters; autopilot promotes a new server once it is stable)" if waiting else ""
    )
    return (
        f"a quorum without {victim}: {len(others)} other healthy voter(s), {quorum} needed of {len(voters)} "
        f"voter(s){detail}"
    )


_VOTING = frozenset({"voter", "leader"})


async def _autopilot(ctx: Context, pods: Sequence[Manifest], token: Sensitive) -> AutopilotState | None:
    """Autopilot's state from the pod labelled active, else from any other that answers; None if none does."""
    for pod in sorted(pods, key=lambda p: (not podview.active(p), podview.ordinal(p))):
        where = podview.target(ctx.cluster, pod, namespace=ctx.namespace, ca_pem=ctx.ca_pem)
        if where is None or podview.terminating(pod):
            continue
        try:
            return await ctx.clients.connect(where).autopilot_state(token)
        except (BaoUnavailable, BaoApiError):
            continue
    return None


def upgrade_pending(sts: Manifest, pods: Sequence[Manifest]) -> str | None:
    """What an upgrade whose pods all passed the gate still waits for before it is complete: every pod of the
    StatefulSet present and Ready in Kubernetes too (the gate asks OpenBao, which answers a few seconds before
    the readiness probe passes, and a Service sends traffic only to Ready pods). None: complete."""
    view = StatefulSetView.of(sts)
    mine = {
        podview.ordinal(p): p for p in pods if 0 <= podview.ordinal(p) < view.replicas and not podview.terminating(p)
    }
    for i in range(view.replicas):
        pod = mine.get(i)
        if pod is None:
            return f"pod ordinal {i} to be created"
        if not podview.ready(pod):
            return f"{podview.name(pod)} to become Ready"
    return None


async def step(ctx: Context) -> Report:
    """At most one out-of-date pod replaced per pass, unless the StatefulSet is held back."""
    out = Report()
    cluster, clients = ctx.cluster, ctx.clients
    ctx.facts.live_sts = live_sts = await own_statefulset(ctx)
    if ctx.so_far.hold_statefulset or live_sts is None:
        return out
    pods = clients.reader.list(POD, namespace=ctx.namespace, labels=names.infra_labels(cluster))
    run = ctx.facts.upgrade
    if run is not None and run.halt:
        ctx.facts.rollout_waiting_for = run.halt_reason or "the upgrade holds the rollout"
        return out
    plan = plan_rollout(live_sts, pods, now=ctx.now, ready_timeout=ctx.config.rollout_ready_timeout)
    gated = run is not None and run.gate_version is not None
    if plan.action == "none" and not gated:
        return out
    lock = live_lock(ctx.raw)
    if lock is not None and lock.operation == "Restore":
        # NB: a pod replaced while a snapshot is restored may come back on either side of it
        ctx.facts.rollout_waiting_for = f"the restore to finish before replacing a pod ({describe(lock)})"
        out.after(RESTORE_WAIT_SECONDS)
        return out
    token, token_note = None, ""
    if gated:
        assert run is not None
        got = await operator_token(ctx, pods=pods)
        token, token_note = got.token, got.describe()
        if not await _upgrade_gate(ctx, run, plan, live_sts, pods, token, out):
            return out
        if plan.action == "none":
            return out
    elif plan.action == "replace" and plan.role != "not-ready":
        got = await operator_token(ctx, pods=pods)
        token, token_note = got.token, got.describe()
        if got.failure is not None:
            out.event("Warning", "OperatorLoginFailed", "Rollout", got.failure)
    if plan.action == "replace" and plan.victim is not None and plan.role != "not-ready" and token is not None:
        held = quorum_hold(await _autopilot(ctx, pods, token), podview.name(plan.victim))
        if held is not None:
            ctx.facts.rollout_waiting_for = held
            out.after(QUORUM_WAIT_SECONDS)
            return out
    result = await execute(
        plan,
        cluster,
        namespace=ctx.namespace,
        ca_pem=ctx.ca_pem,
        token=token,
        kube=clients.kube,
        reader=clients.reader,
        connect=clients.connect,
        token_note=token_note,
    )
    if result.token_refused and clients.operator_tokens is not None:
        clients.operator_tokens.forget(key_of(ctx))
    out.take(result, action="Rollout")
    ctx.facts.rollout_waiting_for = result.waiting_for
    return out
