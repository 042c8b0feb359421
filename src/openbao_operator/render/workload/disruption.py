"""PodDisruptionBudget `<name>-pdb`: at most one voluntary eviction at a time, from 3 replicas up.

Raft with 3 or more voters tolerates losing one, so `maxUnavailable: 1` keeps quorum through node
drains. Below 3 a PDB would either block every drain (1 pod) or promise nothing raft can keep (2 pods),
so none is rendered, and since the desired state then lacks it, the controller deletes an old one
(the reference leaves it behind). `unhealthyPodEvictionPolicy: AlwaysAllow` lets a pod that
is not Ready (sealed, uninitialized) be evicted, so it never blocks a drain; it holds no quorum anyway.
"""

from __future__ import annotations

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.meta import Manifest, object_meta

MIN_REPLICAS_FOR_PDB = 3


def pod_disruption_budget(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest | None:
    if cluster.spec.replicas < MIN_REPLICAS_FOR_PDB:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": object_meta(cluster, facts, names.pdb_name(cluster)),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": names.infra_labels(cluster)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }
