"""The status a reconcile writes: phase, replica counts, rollout progress and the condition set.

Why one pure function: every condition is recomputed from this pass's observations, so the status
can never keep a stale claim, and an unchanged world yields an identical status (no write; see
:mod:`.conditions` for transition times). Reasons are CamelCase and messages say what to do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openbao_operator.api import ConditionType
from openbao_operator.kube import differences

from .conditions import Cond, merge, rfc3339

T = ConditionType


@dataclass(frozen=True, kw_only=True)
class Workload:
    """What the StatefulSet and its pods say."""

    exists: bool
    spec_replicas: int
    """spec.replicas of the cluster."""
    target_replicas: int
    """Replicas the StatefulSet is asked for now (1 until OpenBao is initialized)."""
    ready: int = 0
    updated: int = 0
    """Pods on the StatefulSet's update revision."""
    pods: int = 0
    update_revision: str | None = None
    initialized: bool = False
    waiting_for: str | None = None
    """What the rollout step waits for (set by the reconcile from :mod:`.rollout`)."""


@dataclass(frozen=True)
class Problem:
    """Something a person must act on (or wait for): becomes Degraded and workload.lastError."""

    reason: str
    message: str


@dataclass(frozen=True, kw_only=True)
class StatusInput:
    generation: int
    now: datetime
    live_status: Mapping[str, Any]
    workload: Workload
    configuration: Cond
    fields_ignored: Cond
    paused: bool
    tls: Cond | None
    production_ready: Cond | None
    security_risk: Cond | None
    image: Cond | None
    problem: Problem | None
    verified_image: str | None
    keep_verified_image: bool
    unseal_key: Cond | None = None
    """UnsealKeyRotating (static seal only; see :func:`unseal_key_condition`)."""
    backup: Mapping[str, Any] | None = None
    """status.backup as JSON (controller/backups.py; None: no backup configured or recorded)."""
    backup_conditions: tuple[Cond, ...] = ()
    """BackupHealthy and BackingUp (only with spec.backup)."""
    upgrade: Mapping[str, Any] | None = None
    """status.upgrade as JSON (controller/upgrades.py; None: no upgrade recorded)."""
    upgrade_condition: Cond | None = None
    """Upgrading (once OpenBao is initialized)."""
    current_version: str | None = None
    """status.currentVersion: the version every pod runs."""


def out_of_date(w: Workload) -> int:
    """Pods not on the update revision (the rollout step, not this reconcile, replaces them)."""
    return max(0, w.pods - w.updated) if w.update_revision else 0


def available_condition(w: Workload) -> Cond:
    t = T.AVAILABLE.value
    if not w.exists:
        return Cond(t, "False", "NoStatefulSet", "the StatefulSet does not exist yet")
    if not w.initialized and w.spec_replicas > 1:
        return Cond(
            t,
            "False",
            "WaitingForInitialization",
            f"{w.ready} of 1 bootstrap pod ready; the other {w.spec_replicas - 1} start once OpenBao is initialized",
        )
    if w.ready >= w.spec_replicas > 0:
        return Cond(t, "True", "AllReplicasReady", f"{w.ready} of {w.spec_replicas} pods ready")
    reason = "NoReplicasReady" if w.ready == 0 else "NotReady"
    return Cond(t, "False", reason, f"{w.ready} of {w.spec_replicas} pods ready")


def _progressing(w: Workload) -> Cond:
    t = T.PROGRESSING.value
    stale = out_of_date(w)
    if stale:
        return Cond(
            t,
            "True",
            "PodsOutOfDate",
            f"{stale} of {w.pods} pods run an older revision than {w.update_revision}; "
            "they are replaced one at a time by the rollout",
        )
    return Cond(t, "False", "UpToDate", "every pod runs the current revision")


def _phase(inp: StatusInput, available: Cond) -> str:
    w = inp.workload
    if not w.exists:
        return "Failed" if inp.configuration.status == "False" else "Pending"
    if not w.initialized or available.status != "True":
        return "Initializing" if not w.initialized else str(inp.live_status.get("phase") or "Initializing")
    return "Upgrading" if out_of_date(w) else "Running"


ROTATING_REASONS = frozenset({"UnsealKeyRotating", "UnsealKeyRotationDeferred"})
"""seal.UnsealKeyReason values of a rotation under way (the status package does not import seal)."""


def unseal_key_condition(*, reason: str, message: str, waiting_for: str) -> Cond:
    """UnsealKeyRotating from the seal plan's reason and message, and what the rewrap waits for: True while
    a rotation is under way (or deferred behind one), False when there is none (UnsealKeyReady) or the
    key Secrets need a person (the plan's reason: a stale or invalid rotationID, a broken chain)."""
    t = T.UNSEAL_KEY_ROTATING.value
    if reason in ROTATING_REASONS:
        return Cond(t, "True", reason, f"{message}; waiting for {waiting_for}" if waiting_for else message)
    return Cond(t, "False", reason, message)


def build_status(inp: StatusInput) -> dict[str, Any]:
    """The complete status to apply (conditions merged with live transition times)."""
    w = inp.workload
    available = available_condition(w)
    degraded = (
        Cond(T.DEGRADED.value, "True", inp.problem.reason, inp.problem.message)
        if inp.problem is not None
        else Cond(T.DEGRADED.value, "False", "Reconciled", "the last reconcile applied the desired state")
    )
    paused = (
        Cond(T.PAUSED.value, "True", "Paused", "spec.paused is true: the operator changes nothing but deletion")
        if inp.paused
        else Cond(T.PAUSED.value, "False", "Reconciling", "the operator reconciles this cluster")
    )
    computed: list[Cond] = [available, inp.configuration]
    computed += [
        c for c in (inp.tls, inp.production_ready, inp.security_risk, inp.image, inp.unseal_key) if c is not None
    ]
    computed += inp.backup_conditions
    if inp.upgrade_condition is not None:
        computed.append(inp.upgrade_condition)
    computed += [degraded, inp.fields_ignored, paused, _progressing(w)]
    live_conditions: Sequence[Mapping[str, Any]] = inp.live_status.get("conditions") or ()
    status: dict[str, Any] = {
        "observedGeneration": inp.generation,
        "phase": _phase(inp, available),
        "readyReplicas": w.ready,
        "initialized": w.initialized,
        "conditions": merge(computed, live_conditions, generation=inp.generation, now=inp.now),
    }
    if w.update_revision:
        rollout: dict[str, Any] = {"targetRevision": w.update_revision, "updatedReplicas": w.updated}
        stale = out_of_date(w)
        if stale:
            rollout["waitingFor"] = w.waiting_for or f"{stale} out-of-date pod(s) to be replaced by the rollout"
        status["rollout"] = rollout
    if inp.backup:
        status["backup"] = dict(inp.backup)
    if inp.upgrade:
        status["upgrade"] = dict(inp.upgrade)
    if inp.current_version:
        status["currentVersion"] = inp.current_version
    if inp.keep_verified_image:
        if inp.live_status.get("verifiedImageDigest"):
            status["verifiedImageDigest"] = inp.live_status["verifiedImageDigest"]
    elif inp.verified_image:
        status["verifiedImageDigest"] = inp.verified_image
    if inp.problem is not None:
        previous = (inp.live_status.get("workload") or {}).get("lastError") or {}
        at = rfc3339(inp.now)
        if previous.get("reason") == inp.problem.reason and previous.get("message") == inp.problem.message:
            at = str(previous.get("at") or at)
        status["workload"] = {"lastError": {"reason": inp.problem.reason, "message": inp.problem.message, "at": at}}
    return status


def paused_status(
    *, generation: int, now: datetime, live_status: Mapping[str, Any], workload: Workload
) -> dict[str, Any]:
    """Paused: keep what status said, update only Paused, replica counts and observedGeneration."""
    keep = [c for c in live_status.get("conditions") or () if c.get("type") != T.PAUSED.value]
    paused = Cond(T.PAUSED.value, "True", "Paused", "spec.paused is true: the operator changes nothing but deletion")
    conditions = [*keep, *merge([paused], live_status.get("conditions"), generation=generation, now=now)]
    # NB: never operationLock: only its own writer (controller/oplock.py) may set or clear it
    out = {k: v for k, v in live_status.items() if k not in ("conditions", "operationLock")}
    out.update(observedGeneration=generation, readyReplicas=workload.ready, conditions=conditions)
    out.setdefault("phase", "Pending")
    return out


STATUS_OPTIONAL_KEYS = ("rollout", "workload", "verifiedImageDigest", "backup", "upgrade", "currentVersion")


def status_differs(desired: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    """Would writing ``desired`` change live status? Also sees conditions and fields we stopped sending."""
    if differences(dict(desired), dict(live)):
        return True
    if any(k in live and k not in desired for k in STATUS_OPTIONAL_KEYS):
        return True
    want = [c.get("type") for c in desired.get("conditions") or ()]
    have = [c.get("type") for c in live.get("conditions") or ()]
    if sorted(map(str, want)) != sorted(map(str, have)):
        return True
    rollout_want, rollout_have = desired.get("rollout") or {}, live.get("rollout") or {}
    return "waitingFor" in rollout_have and "waitingFor" not in rollout_want
