"""Every Kubernetes object the infrastructure manager owns for one cluster, as plain dicts.

Pure functions of (cluster, facts) plus config.hcl's text and restart hash and the self-init file, which
come from the config renderer as keyword arguments. `workload_objects` returns the server-side-applied
objects in a stable order (identity, config and the self-init Secret, Services, the StatefulSet,
disruption and network policy, then the entry points, Gateway API kinds last); the order they are applied
in is stated once, in `render.desired.APPLY_STAGES`. The static unseal key Secret is not
among them: the seal package creates it (see `unseal`).
"""

from __future__ import annotations

from openbao_operator.api import OpenBaoCluster
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.configmaps import config_map, gateway_ca_config_map
from openbao_operator.render.workload.disruption import pod_disruption_budget
from openbao_operator.render.workload.identity import role_binding, service_account
from openbao_operator.render.workload.meta import Manifest
from openbao_operator.render.workload.networkpolicy import NetworkRenderError, network_policy
from openbao_operator.render.workload.routes import (
    GATEWAY_API_GROUP,
    backend_tls_policy,
    http_route,
    ingress,
    is_optional_kind,
    tls_route,
)
from openbao_operator.render.workload.selfinit import self_init_secret
from openbao_operator.render.workload.services import acme_service, active_service, headless_service, public_service
from openbao_operator.render.workload.statefulset import statefulset
from openbao_operator.render.workload.unseal import unseal_key_shape

__all__ = [
    "GATEWAY_API_GROUP",
    "Manifest",
    "NetworkRenderError",
    "is_optional_kind",
    "unseal_key_shape",
    "workload_objects",
]


def workload_objects(
    cluster: OpenBaoCluster, facts: RenderFacts, *, config_text: str, config_hash: str, self_init_text: str
) -> list[Manifest]:
    """The applied objects, in a stable order; objects not wanted are absent (so the controller deletes them)."""
    candidates: list[Manifest | None] = [
        service_account(cluster, facts),
        role_binding(cluster, facts),
        config_map(cluster, facts, config_text=config_text),
        self_init_secret(cluster, facts, self_init_text=self_init_text),
        headless_service(cluster, facts),
        active_service(cluster, facts),
        public_service(cluster, facts),
        acme_service(cluster, facts),
        statefulset(cluster, facts, config_hash=config_hash),
        pod_disruption_budget(cluster, facts),
        network_policy(cluster, facts),
        ingress(cluster, facts),
        gateway_ca_config_map(cluster, facts),
        http_route(cluster, facts),
        tls_route(cluster, facts),
        backend_tls_policy(cluster, facts),
    ]
    return [obj for obj in candidates if obj is not None]
