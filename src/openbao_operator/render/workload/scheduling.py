"""Where the pods may run: the spec's scheduling fields, plus a default soft anti-affinity across nodes.

Why soft by default: raft survives losing a minority, so pods should not share a node, but a hard rule
would leave pods Pending on small clusters (and on single-node test clusters). Users who want a hard rule
or zone spreading set `affinity.podAntiAffinity` (which replaces the default) or
`topologySpreadConstraints`. Spread constraints without a labelSelector get the pods' selector, so they
count only this cluster's pods.
"""

from __future__ import annotations

from typing import Any

from openbao_operator.api import OpenBaoCluster, names

HOSTNAME_TOPOLOGY_KEY = "kubernetes.io/hostname"


def default_pod_anti_affinity(cluster: OpenBaoCluster) -> dict[str, Any]:
    return {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {
                "weight": 100,
                "podAffinityTerm": {
                    "labelSelector": {"matchLabels": names.infra_labels(cluster)},
                    "topologyKey": HOSTNAME_TOPOLOGY_KEY,
                },
            }
        ]
    }


def affinity(cluster: OpenBaoCluster) -> dict[str, Any]:
    user = cluster.spec.affinity.to_json() if cluster.spec.affinity is not None else {}
    result: dict[str, Any] = {}
    if "nodeAffinity" in user:
        result["nodeAffinity"] = user["nodeAffinity"]
    if "podAffinity" in user:
        result["podAffinity"] = user["podAffinity"]
    result["podAntiAffinity"] = user.get("podAntiAffinity") or default_pod_anti_affinity(cluster)
    return result


def scheduling_fields(cluster: OpenBaoCluster) -> dict[str, Any]:
    """Pod spec fields for scheduling, only those that are set (affinity always is)."""
    spec = cluster.spec
    fields: dict[str, Any] = {"affinity": affinity(cluster)}
    if spec.node_selector:
        fields["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        fields["tolerations"] = [t.to_json() for t in spec.tolerations]
    if spec.topology_spread_constraints:
        constraints = []
        for constraint in spec.topology_spread_constraints:
            item = constraint.to_json()
            item.setdefault("labelSelector", {"matchLabels": names.infra_labels(cluster)})
            constraints.append(item)
        fields["topologySpreadConstraints"] = constraints
    if spec.priority_class_name:
        fields["priorityClassName"] = spec.priority_class_name
    return fields
