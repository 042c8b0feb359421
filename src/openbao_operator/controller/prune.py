"""Which owned objects are no longer desired: a disabled Ingress or route, the PDB below 3 replicas, a
renamed ServiceAccount with its RoleBinding, the ACME Service after leaving ACME, the per-cluster Role
and RoleBinding of earlier versions (the pods now bind a pre-installed ClusterRole), ...

Why by ownership and not by name lists: the render is the only authority on what should exist, so
whatever this cluster *controls* (a controller ownerReference with its uid) of a prunable kind and the
render did not produce is left over from an earlier spec. Objects of other owners, or of a previous
cluster of the same name (another uid), are never touched; Secrets and PVCs are not prunable kinds
(TLS material goes with the cluster by garbage collection, keys and volumes only by deletion policy).
The executors' ServiceAccounts are not pruned either (:data:`EXECUTORS`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from openbao_operator.api.names import LABEL_OPENBAO_COMPONENT
from openbao_operator.kube import Conflict, Manifest, NotFound, ObjectKey, Preconditions, ResourceType, resource_of

from .kinds import CLUSTER_LABEL, PRUNABLE
from .ownership import controlled_by
from .step import Context, Report

EXECUTORS = frozenset({"backup", "restore"})
"""``openbao.org/component`` of the executors' ServiceAccounts: created on demand by the step that starts an
executor Job (the render never produces them), they hold no rights, and they go with the cluster."""


def leftovers(
    desired: Iterable[Manifest], live_by_kind: dict[ResourceType, list[Manifest]], *, owner_uid: str
) -> list[tuple[ResourceType, Manifest]]:
    """Live objects this cluster controls that the render no longer produces, in a stable order."""
    wanted = {(resource_of(obj), ObjectKey.of(obj)) for obj in desired}
    out: list[tuple[ResourceType, Manifest]] = []
    for rt in PRUNABLE:
        for obj in sorted(live_by_kind.get(rt, ()), key=lambda o: ObjectKey.of(o).name):
            if (rt, ObjectKey.of(obj)) in wanted or not controlled_by(obj, owner_uid):
                continue
            meta = obj.get("metadata") or {}
            if meta.get("deletionTimestamp") or (meta.get("labels") or {}).get(LABEL_OPENBAO_COMPONENT) in EXECUTORS:
                continue
            out.append((rt, obj))
    return out


async def step(ctx: Context) -> Report:
    """Delete the leftovers (uid precondition: never a newer object of the same name)."""
    out = Report()
    reader, namespace = ctx.clients.reader, ctx.namespace
    live_by_kind: dict[ResourceType, list[Manifest]] = {}
    for rt in PRUNABLE:
        if reader.cached(rt):
            live_by_kind[rt] = reader.list(rt, namespace=namespace, labels={CLUSTER_LABEL: ctx.cluster.metadata.name})
    for rt, obj in leftovers(ctx.desired.objects, live_by_kind, owner_uid=ctx.owner_uid):
        key = ObjectKey.of(obj)
        with contextlib.suppress(NotFound, Conflict):
            await ctx.clients.kube.delete(
                rt, key.name, namespace=namespace, preconditions=Preconditions(uid=obj["metadata"]["uid"])
            )
        reader.wrote(rt, key, None)
        out.event("Normal", "Pruned", "Delete", f"deleted {obj['kind']} {key.name}: no longer wanted")
    return out
