"""The finalizer and the deletion policy: what survives a deleted cluster is exactly what the policy says.

Why a finalizer at all (ownerReferences do most of the work): the StatefulSet's PVCs carry no
ownerReference (claim templates make them), and the unseal key is owned only under DeleteAll, so
garbage collection alone never deletes data. What the finalizer adds, per ``spec.deletionPolicy``:

- ``Retain``: nothing is deleted. Key Secrets lose any ownerReference first (a policy changed to Retain
  just before the delete must still keep the key), then the finalizer goes.
- ``DeletePVCs``: the StatefulSet is deleted first (so its controller cannot recreate a claim for a pod
  that still exists), then every PVC labelled ``openbao.org/cluster=<name>``. The key survives. Only a
  StatefulSet of this cluster is deleted (controller/ownership.py): one of another owner is left alone.
- ``DeleteAll``: as DeletePVCs, and the unseal key Secrets are deleted too.

Everything else is owned by the cluster and goes by garbage collection. Each step is idempotent, so an
operator killed half-way finishes the job on its next pass.
"""

from __future__ import annotations

from openbao_operator.kube import Conflict, KubeClient, Manifest, NotFound, Preconditions, ResourceType

from .kinds import CLUSTER, CLUSTER_LABEL, FINALIZER, PVC, SECRET, STATEFULSET
from .ownership import foreign_message, ownership
from .sources import Reader
from .step import Context, Report
from .unseal import observe_key_secrets


def has_finalizer(obj: Manifest) -> bool:
    return FINALIZER in ((obj.get("metadata") or {}).get("finalizers") or ())


async def add_finalizer(kube: KubeClient, obj: Manifest) -> Manifest:
    """Add our finalizer, keeping the others, guarded by the resourceVersion we read (409 if stale).

    Why a merge patch and not server-side apply: an apply on the custom resource makes the API server
    build a typed object from the whole (large) CRD schema, several times the cost of this patch, and it
    is the first write of every new cluster.
    """
    meta = obj.get("metadata") or {}
    finalizers = [*(meta.get("finalizers") or ()), FINALIZER]
    patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta.get("resourceVersion")}}
    return await kube.merge_patch(CLUSTER, meta["name"], patch, namespace=meta["namespace"])


async def remove_finalizer(kube: KubeClient, obj: Manifest) -> None:
    """Remove only our finalizer, guarded by the resourceVersion we read (a JSON merge patch replaces the list)."""
    meta = obj.get("metadata") or {}
    rest = [f for f in meta.get("finalizers") or () if f != FINALIZER]
    patch = {"metadata": {"finalizers": rest or None, "resourceVersion": meta.get("resourceVersion")}}
    try:
        await kube.merge_patch(CLUSTER, meta["name"], patch, namespace=meta["namespace"])
    except NotFound:
        return


async def _delete_statefulset(kube: KubeClient, raw: Manifest, *, name: str, namespace: str, kept: list[str]) -> bool:
    """Delete the StatefulSet of this name only if it is this cluster's (controller/ownership.py), with its
    uid as a precondition, so a StatefulSet that took the name in the meantime is never the one deleted."""
    try:
        live = await kube.get(STATEFULSET, name, namespace=namespace)
    except NotFound:
        return False
    owner_uid = str((raw.get("metadata") or {}).get("uid") or "")
    if not ownership(live, owner_uid=owner_uid, cluster_name=name).writable:
        kept.append(foreign_message(live, cluster_name=name))
        return False
    try:
        await kube.delete(
            STATEFULSET, name, namespace=namespace, preconditions=Preconditions(uid=live["metadata"]["uid"])
        )
    except (NotFound, Conflict):
        return False
    return True


async def _delete(kube: KubeClient, rt: ResourceType, name: str, namespace: str) -> bool:
    try:
        await kube.delete(rt, name, namespace=namespace)
    except NotFound:
        return False
    return True


def deletion_policy(raw: Manifest) -> str:
    """spec.deletionPolicy from the raw object (a spec that no longer validates must still be deletable)."""
    value = (raw.get("spec") or {}).get("deletionPolicy")
    return value if value in ("Retain", "DeletePVCs", "DeleteAll") else "Retain"


async def finalize(raw: Manifest, *, kube: KubeClient, reader: Reader, kept: list[str] | None = None) -> list[str]:
    """Carry out the deletion policy, then drop the finalizer. Returns what was deleted (for logs/Events);
    ``kept`` receives a note per object of our name that was left alone because it is not ours."""
    kept = kept if kept is not None else []
    meta = raw.get("metadata") or {}
    name, namespace = str(meta["name"]), str(meta["namespace"])
    policy = deletion_policy(raw)
    deleted: list[str] = []
    keys = await observe_key_secrets(name, reader=reader, namespace=namespace)
    if policy == "DeleteAll":
        for secret in keys:
            secret_name = str(secret["metadata"]["name"])
            if await _delete(kube, SECRET, secret_name, namespace):
                deleted.append(f"Secret/{secret_name}")
    else:
        for secret in keys:
            refs = (secret.get("metadata") or {}).get("ownerReferences") or ()
            kept = [r for r in refs if r.get("uid") != (raw.get("metadata") or {}).get("uid")]
            if len(kept) != len(refs):
                patch = {"metadata": {"ownerReferences": kept or None}}
                await kube.merge_patch(SECRET, str(secret["metadata"]["name"]), patch, namespace=namespace)
    if policy in ("DeletePVCs", "DeleteAll"):
        if await _delete_statefulset(kube, raw, name=name, namespace=namespace, kept=kept):
            deleted.append(f"StatefulSet/{name}")
        claims = await kube.list(PVC, namespace=namespace, labels={CLUSTER_LABEL: name})
        for claim in claims.items:
            claim_name = str(claim["metadata"]["name"])
            if claim["metadata"].get("deletionTimestamp"):
                continue
            if await _delete(kube, PVC, claim_name, namespace):
                deleted.append(f"PersistentVolumeClaim/{claim_name}")
    await remove_finalizer(kube, raw)
    return deleted


async def step(ctx: Context) -> Report:
    """A cluster being deleted: run the deletion policy (once our finalizer is on it) and end the pass."""
    if not (ctx.raw.get("metadata") or {}).get("deletionTimestamp"):
        return Report()
    out = Report(stop=True)
    if has_finalizer(ctx.raw):
        kept: list[str] = []
        deleted = await finalize(ctx.raw, kube=ctx.clients.kube, reader=ctx.clients.reader, kept=kept)
        if deleted:
            out.event("Normal", "Deleted", "Delete", "deletion policy: " + ", ".join(deleted))
        for note in kept:
            out.event("Warning", "ForeignObject", "Delete", note)
    return out


async def ensure_finalizer(ctx: Context) -> None:
    """Add the finalizer if missing. It must be on before the StatefulSet exists (its PVCs are what the
    deletion policy may delete), so every path that can apply the StatefulSet awaits this first."""
    if not has_finalizer(ctx.raw):
        ctx.clients.reader.wrote(CLUSTER, ctx.key, await add_finalizer(ctx.clients.kube, ctx.raw))
