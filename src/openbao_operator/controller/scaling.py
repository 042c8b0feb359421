"""Scale-down without a dead voter: step the leader down if it is leaving, remove the leaving raft peers,
then shrink the StatefulSet (which deletes the highest ordinals).

Why before the shrink: a pod the StatefulSet deleted is still a raft voter until someone removes it; two
dead voters out of five make the next failure a quorum loss. Removing the peers first and shrinking after
is level-triggered: a crash in between finds the peers gone (only present ones are removed) and shrinks.
The leaving pods' raft node ids are their pod names (``BAO_RAFT_NODE_ID``). Removal needs a token: the
operator's own under ``selfInit.oidc`` (its policy allows step-down and raft peer management), else the
stored root token (``<name>-root-token``; controller/operator_token.py); under plain selfInit there is
none, and the StatefulSet shrinks without peer removal (configure autopilot ``cleanup_dead_servers``
through selfInit requests instead).
Scale-up needs nothing here: new pods join through the rendered retry_join / auto_join.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openbao_operator.api import OpenBaoCluster
from openbao_operator.baoapi import BaoApiError, BaoUnavailable, Sensitive
from openbao_operator.kube import Manifest

from . import podview
from .bootstrap import BaoConnect
from .operator_token import key_of, operator_token, refused
from .step import Context, Report
from .stsview import StatefulSetView


@dataclass(frozen=True)
class ScaleDown:
    hold_at: int | None = None
    """Keep the StatefulSet at this many replicas in this pass (a step-down or removal is pending)."""
    event: tuple[str, str] | None = None
    retry_after: float | None = None
    token_refused: bool = False
    """OpenBao answered 403 to the token (a held operator token is forgotten)."""


async def prepare_scale_down(
    cluster: OpenBaoCluster,
    live_sts: Manifest | None,
    pods: Sequence[Manifest],
    *,
    desired: int,
    namespace: str,
    ca_pem: str | None,
    token: Sensitive | None,
    connect: BaoConnect,
) -> ScaleDown:
    current = StatefulSetView.of(live_sts).replicas
    if live_sts is None or current <= desired:
        return ScaleDown()
    leaving = {f"{cluster.metadata.name}-{i}" for i in range(desired, current)}
    for pod in pods:
        if podview.name(pod) in leaving and podview.active(pod) and podview.running(pod):
            where = podview.target(cluster, pod, namespace=namespace, ca_pem=ca_pem)
            if token is None or where is None:
                break  # its graceful shutdown releases leadership
            try:
                await connect(where).step_down(token)
            except (BaoUnavailable, BaoApiError) as exc:
                return ScaleDown(hold_at=current, retry_after=5.0, token_refused=refused(exc))
            note = f"{podview.name(pod)} leaves in the scale-down to {desired}: it stepped down as leader first"
            return ScaleDown(hold_at=current, event=("SteppedDown", note), retry_after=2.0)
    if token is None:
        return ScaleDown()
    staying = [p for p in pods if podview.ordinal(p) < desired and podview.ready(p)]
    leader = next((p for p in staying if podview.active(p)), None)
    if leader is None:
        return ScaleDown(hold_at=current, retry_after=2.0)  # a staying leader is being elected
    where = podview.target(cluster, leader, namespace=namespace, ca_pem=ca_pem)
    if where is None:
        return ScaleDown(hold_at=current, retry_after=2.0)
    client = connect(where)
    try:
        peers = await client.raft_peers(token)
        removed = sorted(p.node_id for p in peers if p.node_id in leaving)
        for node_id in removed:
            await client.remove_peer(token, node_id)
    except (BaoUnavailable, BaoApiError) as exc:
        return ScaleDown(hold_at=current, retry_after=5.0, token_refused=refused(exc))
    if not removed:
        return ScaleDown()
    note = f"removed raft peer(s) {', '.join(removed)} before scaling down from {current} to {desired}"
    return ScaleDown(event=("RaftPeersRemoved", note))


async def step(ctx: Context) -> Report:
    """Before rendering: when the spec asks for fewer replicas than the live StatefulSet has, step a leaving
    leader down and remove the leaving peers; hold the live count (``facts.replicas``) while that is pending."""
    cluster, facts = ctx.cluster, ctx.facts
    out = Report()
    if not facts.initialized or StatefulSetView.of(facts.live_sts).replicas <= cluster.spec.replicas:
        return out
    got = await operator_token(ctx, pods=facts.pods)
    if got.failure is not None:
        out.event("Warning", "OperatorLoginFailed", "ScaleDown", got.failure)
    result = await prepare_scale_down(
        cluster,
        facts.live_sts,
        facts.pods,
        desired=cluster.spec.replicas,
        namespace=ctx.namespace,
        ca_pem=ctx.ca_pem,
        token=got.token,
        connect=ctx.clients.connect,
    )
    if result.token_refused and ctx.clients.operator_tokens is not None:
        ctx.clients.operator_tokens.forget(key_of(ctx))
    if result.event is not None:
        out.event("Normal", result.event[0], "ScaleDown", result.event[1])
    if result.retry_after is not None:
        out.after(result.retry_after)
    if result.hold_at is not None:
        facts.replicas = result.hold_at
    return out
