"""The apply step: server-side apply of what differs, stage by stage, and the StatefulSet's immutable fields.

Why stages (``render.desired.APPLY_STAGES``, the one place the order is stated): a pod needs its identity,
config and Services before it starts; the StatefulSet comes after them; the Gateway API kinds come last and
apart, because their CRDs may be missing. Objects within a stage do not depend on each other and are applied
concurrently. Only objects this cluster owns are written (controller/ownership.py); a foreign one is
reported and held back. The StatefulSet's immutable fields are compared first (controller/statefulset.py):
a change the user may make is reached by recreating it with orphaned pods and PVCs, expanding PVCs first.
"""

from __future__ import annotations

import contextlib

from openbao_operator.kube import (
    Conflict,
    Forbidden,
    Invalid,
    Manifest,
    NotFound,
    ObjectKey,
    Preconditions,
    resource_of,
)
from openbao_operator.render.desired import Stage

from .concurrent import each
from .kinds import CLUSTER_LABEL, PVC, STATEFULSET, STORAGECLASS
from .ownership import Ownership, foreign_message, ownership
from .statefulset import StatefulSetPlan, compare_sizes, plan_statefulset, size_change
from .step import Context, Report
from .stsview import StatefulSetView


async def step(ctx: Context) -> Report:
    out = Report()
    for stage, objects in ctx.desired.stages():
        if stage is Stage.WORKLOAD:
            statefulsets = [o for o in objects if o["kind"] == "StatefulSet"]
            others = [o for o in objects if o["kind"] != "StatefulSet"]
            await each([_statefulsets(ctx, statefulsets, out), *(_ensure(ctx, o, out) for o in others)])
        else:
            await each([_ensure(ctx, o, out, optional=stage is Stage.OPTIONAL) for o in objects])
    return out


async def _statefulsets(ctx: Context, objects: list[Manifest], out: Report) -> None:
    for obj in objects:
        if ctx.so_far.hold_statefulset or out.hold_statefulset:
            continue
        sts = await _statefulset(ctx, obj, out)
        if sts is not None:
            await _ensure(ctx, sts, out)


async def _ensure(ctx: Context, obj: Manifest, out: Report, *, optional: bool = False) -> None:
    rt, key = resource_of(obj), ObjectKey.of(obj)
    where = f"{obj['kind']} {key.name}"
    name = ctx.cluster.metadata.name
    try:
        live = await ctx.clients.reader.lookup(rt, key)
        verdict = ownership(live, owner_uid=ctx.owner_uid, cluster_name=name)
        if not verdict.writable:
            assert live is not None
            out.foreign(foreign_message(live, cluster_name=name), hold=rt is STATEFULSET)
            return
        if verdict is Ownership.ORPHAN and not await ctx.owner_is_live():
            out.after(ctx.config.wait_seconds)  # the cluster this pass read is gone or going: adopt nothing
            return
        result = await ctx.clients.applier.ensure(obj, live)
    except NotFound as exc:
        if not optional:
            raise
        out.problem(
            "GatewayAPIMissing",
            f"{where}: the Gateway API is not served ({exc.message}); install its CRDs or disable spec.gateway",
        )
        out.after(ctx.config.gateway_missing_seconds)
        return
    except (Invalid, Forbidden) as exc:
        # NB: re-sending a refused object on every pass would be a loop; report it and wait for a change
        reason = "ApplyRejected" if isinstance(exc, Invalid) else "Forbidden"
        out.problem(reason, f"{where} was refused by the API server: {exc}")
        return
    if result.written:
        ctx.clients.reader.wrote(rt, key, result.object)


async def _statefulset(ctx: Context, desired: Manifest, out: Report) -> Manifest | None:
    """The StatefulSet to apply, or None when it must not be applied in this pass."""
    live = ctx.facts.live_sts
    if StatefulSetView.of(live).deleting:
        out.after(ctx.config.wait_seconds)  # orphaning in progress: create it once it is gone
        return None
    allowed: bool | None = None
    if live is not None and size_change(desired, live) is not None:
        allowed = await _expansion_allowed(ctx, live)
    plan = plan_statefulset(desired, live, expansion_allowed=allowed)
    if plan.refusal is not None:
        out.problem(plan.refusal.reason, plan.refusal.message)
    if live is None or not plan.recreate:
        return plan.desired
    await _recreate(ctx, plan, live, out)
    return None


async def _expansion_allowed(ctx: Context, live: Manifest) -> bool:
    kube, namespace = ctx.clients.kube, str(live["metadata"]["namespace"])
    templates = (live.get("spec") or {}).get("volumeClaimTemplates") or ()
    class_name = next((t.get("spec", {}).get("storageClassName") for t in templates if t.get("spec")), None)
    if not class_name:
        claims = await kube.list(PVC, namespace=namespace, labels={CLUSTER_LABEL: live["metadata"]["name"]})
        class_name = next((c["spec"].get("storageClassName") for c in claims.items if c.get("spec")), None)
    if not class_name:
        return False
    try:
        storage_class = await kube.get(STORAGECLASS, str(class_name))
    except NotFound:
        return False
    return storage_class.get("allowVolumeExpansion") is True


async def _recreate(ctx: Context, plan: StatefulSetPlan, live: Manifest, out: Report) -> None:
    namespace, name = str(live["metadata"]["namespace"]), str(live["metadata"]["name"])
    if plan.expand_to is not None:
        resized, unbound = await _expand_claims(ctx, name, namespace=namespace, size=plan.expand_to)
        note = f"expanded {', '.join(resized) or 'no'} volume(s) to {plan.expand_to}"
        if unbound:
            note += f"; unbound claims keep their size: {', '.join(unbound)}"
        out.event("Normal", "PVCResize", "ExpandVolumes", note)
    # NotFound / Conflict: already gone, or already another incarnation; the next pass decides again
    with contextlib.suppress(NotFound, Conflict):
        await ctx.clients.kube.delete(
            STATEFULSET,
            name,
            namespace=namespace,
            propagation="Orphan",
            preconditions=Preconditions(uid=str(live["metadata"]["uid"])),
        )
    ctx.clients.reader.wrote(STATEFULSET, ObjectKey(namespace, name), None)
    out.event(
        "Normal",
        "StatefulSetRecreated",
        "RecreateStatefulSet",
        f"{', '.join(plan.recreate)} cannot change in place: the StatefulSet is recreated; its pods and "
        "volumes are kept (orphaned, then adopted)",
    )
    out.after(ctx.config.wait_seconds)


async def _expand_claims(ctx: Context, sts_name: str, *, namespace: str, size: str) -> tuple[list[str], list[str]]:
    kube = ctx.clients.kube
    claims = await kube.list(PVC, namespace=namespace, labels={CLUSTER_LABEL: sts_name})
    resized, unbound = [], []
    for claim in claims.items:
        claim_name = str(claim["metadata"]["name"])
        if not claim_name.startswith(f"data-{sts_name}-"):
            continue
        current = ((claim.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage")
        if current is not None and (compare_sizes(str(current), size) or 0) >= 0:
            continue
        if (claim.get("status") or {}).get("phase") != "Bound":
            unbound.append(claim_name)
            continue
        patch = {"spec": {"resources": {"requests": {"storage": size}}}}
        try:
            await kube.merge_patch(PVC, claim_name, patch, namespace=namespace)
        except (Invalid, Forbidden):
            unbound.append(claim_name)  # refused (e.g. no expansion support): keeps its size
            continue
        resized.append(claim_name)
    return resized, unbound
