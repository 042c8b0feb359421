"""Scale-down without a dead voter: step the leader down if it is leaving, remove the leaving raft peers,
then shrink the StatefulSet (which deletes the highest ordinals).

Why before the shrink: a pod the StatefulSet deleted is still a raft voter until someone removes it; two
dead voters out of five make the next failure a quorum loss. Removing the peers first and shrinking after
is level-triggered: a crash in between finds the peers gone (only present ones are removed) and shrinks.
The leaving pods' raft node ids are their pod names (``BAO_RAFT_NODE_ID``). Removal needs a token: the
stored root token (``<name>-root-token``); under selfInit there is none, and the StatefulSet shrinks
without peer removal (configure autopilot ``cleanup_dead_servers`` through selfInit requests instead).
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


@dataclass(frozen=True)
class ScaleDown:
    hold_at: int | None = None
    """Keep the StatefulSet at this many replicas in this pass (a step-down or removal is pending)."""
    event: tuple[str, str] | None = None
    retry_after: float | None = None


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
    current = int(((live_sts or {}).get("spec") or {}).get("replicas") or 0)
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
            except (BaoUnavailable, BaoApiError):
                return ScaleDown(hold_at=current, retry_after=5.0)
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
    except (BaoUnavailable, BaoApiError):
        return ScaleDown(hold_at=current, retry_after=5.0)
    if not removed:
        return ScaleDown()
    note = f"removed raft peer(s) {', '.join(removed)} before scaling down from {current} to {desired}"
    return ScaleDown(event=("RaftPeersRemoved", note))
