"""What the StatefulSet and its pods report, read from the caches: replica counts, revisions, initialization.

Why from the StatefulSet's status and the pods' labels: the StatefulSet controller already counts ready
and updated pods (``updatedReplicas`` are the pods on ``updateRevision``; with OnDelete the others are
out of date until the rollout replaces them), and OpenBao's service registration labels its own pod
``openbao-initialized=true``. Initialization is sticky: once seen (or recorded in status) it stays,
so a restarted operator never shrinks a running cluster back to its single bootstrap pod.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from openbao_operator.api import names
from openbao_operator.kube import Manifest, ObjectKey
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.statefulset import desired_replicas

from .identity import RETRY_SECONDS, IdentityUnavailable
from .kinds import POD, STATEFULSET
from .ownership import ownership
from .status import Workload
from .step import Context, Report
from .stsview import StatefulSetView

INITIALIZED_LABEL = "openbao-initialized"


def initialized(live_status: Mapping[str, Any], pods: Sequence[Manifest]) -> bool:
    if live_status.get("initialized") is True:
        return True
    return any(((p.get("metadata") or {}).get("labels") or {}).get(INITIALIZED_LABEL) == "true" for p in pods)


def observe_workload(
    sts: Manifest | None, *, spec_replicas: int, target_replicas: int, is_initialized: bool
) -> Workload:
    if sts is None:
        return Workload(
            exists=False, spec_replicas=spec_replicas, target_replicas=target_replicas, initialized=is_initialized
        )
    view = StatefulSetView.of(sts)
    return Workload(
        exists=True,
        spec_replicas=spec_replicas,
        target_replicas=target_replicas,
        ready=view.ready_replicas,
        updated=view.updated_replicas,
        pods=view.status_replicas,
        update_revision=view.update_revision,
        initialized=is_initialized,
    )


async def observe(ctx: Context) -> Report:
    """Read the live StatefulSet (when ours), the pods, and whether OpenBao is initialized; the render facts
    that come from the operator's settings."""
    cluster = ctx.cluster
    ctx.facts.live_sts = await own_statefulset(ctx)
    ctx.facts.pods = ctx.clients.reader.list(POD, namespace=ctx.namespace, labels=names.infra_labels(cluster))
    ctx.facts.initialized = initialized(ctx.live_status, ctx.facts.pods)
    config = ctx.config
    ctx.facts.render = RenderFacts(
        namespace=ctx.namespace,
        cluster_domain=config.cluster_domain,
        operator_namespace=config.operator_namespace,
        api_server_cidr=config.api_server_cidr,
        initialized=ctx.facts.initialized,
        owner_uid=ctx.owner_uid,
    )
    return await _operator_identity(ctx)


async def _operator_identity(ctx: Context) -> Report:
    """spec.selfInit.oidc renders with the ServiceAccount issuer and keys (controller/identity.py). While they
    cannot be read, the render refuses the cluster (render/config/identity.py says why) and this says what
    the read found, and looks again soon."""
    out = Report()
    si = ctx.cluster.spec.self_init
    source = ctx.clients.identity
    if si is None or not si.enabled or si.oidc is None or not si.oidc.enabled or source is None:
        return out
    try:
        identity = await source.get()
    except IdentityUnavailable as exc:
        out.problem("IssuerDiscoveryFailed", f"spec.selfInit.oidc: {exc}")
        out.after(RETRY_SECONDS)
        return out
    ctx.facts.render = dataclasses.replace(ctx.render_facts, operator_identity=identity)
    return out


async def own_statefulset(ctx: Context) -> Manifest | None:
    """The live StatefulSet, or None when there is none or it is not ours (never scaled, recreated or rolled;
    the apply step reports it)."""
    cluster = ctx.cluster
    live = await ctx.clients.reader.get(STATEFULSET, ObjectKey(ctx.namespace, names.statefulset_name(cluster)))
    if not ownership(live, owner_uid=ctx.owner_uid, cluster_name=cluster.metadata.name).writable:
        return None
    return live


def current_workload(ctx: Context, *, target_replicas: int | None = None) -> Workload:
    """The workload as observed (``facts.live_sts``), heading for ``target_replicas`` (default: what the render
    facts observed so far give)."""
    if target_replicas is None:
        target_replicas = desired_replicas(ctx.cluster, ctx.render_facts)
    return observe_workload(
        ctx.facts.live_sts,
        spec_replicas=ctx.cluster.spec.replicas,
        target_replicas=target_replicas,
        is_initialized=ctx.facts.initialized,
    )
