"""The last step: what the pass found, as the cluster's status, and when to look again.

Why last: status describes the cluster after this pass's writes (the StatefulSet is read again after the
rollout step), and every step before it may have added a problem (the first becomes workload.lastError),
an Event or a requeue. The driver writes the status (only when it changed) and the Events.
"""

from __future__ import annotations

import dataclasses

from openbao_operator.api import ConditionType
from openbao_operator.imagesig import ImageDecision

from .conditions import Cond
from .status import StatusInput, build_status, unseal_key_condition
from .step import Context, Report
from .workload import current_workload, own_statefulset


async def step(ctx: Context) -> Report:
    facts, tls, decision = ctx.facts, ctx.tls, ctx.image
    profile, configuration, fields_ignored = facts.profile, facts.configuration, facts.fields_ignored
    if profile is None or configuration is None or fields_ignored is None:
        raise RuntimeError("the status step runs after the validate step")
    unseal = facts.unseal
    rotating = (
        unseal_key_condition(reason=unseal.reason, message=unseal.message, waiting_for=facts.rotation_waiting_for)
        if unseal is not None
        else None
    )
    facts.live_sts = await own_statefulset(ctx)
    workload = current_workload(ctx, target_replicas=facts.target_replicas)
    status = build_status(
        StatusInput(
            generation=ctx.generation,
            now=ctx.now,
            live_status=ctx.live_status,
            workload=dataclasses.replace(workload, waiting_for=facts.rollout_waiting_for),
            configuration=configuration,
            fields_ignored=fields_ignored,
            paused=False,
            tls=tls.condition,
            production_ready=profile.production_ready,
            security_risk=profile.security_risk,
            image=_image_condition(decision),
            problem=ctx.so_far.problems[0] if ctx.so_far.problems else None,
            verified_image=decision.verified_image,
            keep_verified_image=not decision.apply,
            unseal_key=rotating,
            backup=facts.backup_status.to_json() if facts.backup_status is not None else None,
            backup_conditions=facts.backup_conditions,
            upgrade=_upgrade_json(ctx),
            upgrade_condition=facts.upgrade.condition if facts.upgrade is not None else None,
            current_version=facts.current_version or str(ctx.live_status.get("currentVersion") or "") or None,
        )
    )
    upgrading = facts.upgrade.condition if facts.upgrade is not None else None
    transitions = tuple(c for c in (profile.security_risk, tls.condition, rotating, upgrading) if c is not None)
    # NB: BackupHealthy's transitions are told by the backup step's own Events (BackupSucceeded/BackupFailed)
    out = Report(status=status, transitions=transitions)
    if tls.recheck_at is not None:
        out.after((tls.recheck_at - ctx.now).total_seconds())
    out.after(ctx.config.resync_seconds)
    return out


def _upgrade_json(ctx: Context) -> dict[str, object] | None:
    run = ctx.facts.upgrade
    if run is None:
        live = ctx.live_status.get("upgrade")
        return dict(live) if isinstance(live, dict) else None
    return run.status.model_dump(mode="json", by_alias=True, exclude_none=True) if run.status is not None else None


def _image_condition(decision: ImageDecision) -> Cond | None:
    c = decision.condition
    return Cond(ConditionType.IMAGE_VERIFIED.value, c.status, c.reason, c.message) if c is not None else None
