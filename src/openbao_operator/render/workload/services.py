"""Services: headless `<name>` for identity, `<name>-active` for the leader, `<name>-public`, `<name>-acme`.

- Headless `<name>` is the StatefulSet's serviceName: it gives every pod the DNS name
  `<pod>.<name>.<ns>.svc` used for api_addr/cluster_addr and raft traffic. It publishes not-ready
  addresses, because a sealed or joining pod must already be reachable by that name.
- `<name>-active` selects the pod OpenBao's service registration labels `openbao-active: "true"`, so
  clients that need the leader always reach it (no standby forwarding hop).
- `<name>-public` exists as in the reference (spec.service present, or ingress or gateway enabled) and,
  unlike the charts' single knob, routes only to Ready pods (unsealed, serving).
- `<name>-acme` receives ACME challenges in ACME mode; it publishes not-ready pods because a pod has no
  certificate, and so is not Ready, until the challenge succeeds.
"""

from __future__ import annotations

from typing import Any

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.api.tls import EffectiveTlsMode
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.meta import Manifest, object_meta


def _port(name: str, port: int, target: int | None = None) -> dict[str, Any]:
    return {"name": name, "port": port, "protocol": "TCP", "targetPort": target if target is not None else port}


def headless_service(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(cluster, facts, names.headless_service_name(cluster)),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": names.infra_labels(cluster),
            "ports": [_port("api", names.API_PORT), _port("cluster", names.CLUSTER_PORT)],
        },
    }


def active_service(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest:
    selector = {**names.infra_labels(cluster), names.LABEL_ACTIVE: "true"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(cluster, facts, names.active_service_name(cluster)),
        "spec": {"type": "ClusterIP", "selector": selector, "ports": [_port("api", names.API_PORT)]},
    }


def public_service_wanted(cluster: OpenBaoCluster) -> bool:
    spec = cluster.spec
    return (
        spec.service is not None
        or (spec.ingress is not None and spec.ingress.enabled)
        or (spec.gateway is not None and spec.gateway.enabled)
    )


def public_service(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest | None:
    if not public_service_wanted(cluster):
        return None
    service = cluster.spec.service
    annotations = service.annotations if service is not None else None
    service_type = (service.type if service is not None else None) or "ClusterIP"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(cluster, facts, names.public_service_name(cluster), annotations=annotations),
        "spec": {
            "type": service_type,
            "selector": names.infra_labels(cluster),
            "ports": [_port("api", names.API_PORT)],
        },
    }


def acme_service(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest | None:
    if cluster.spec.tls.effective_mode is not EffectiveTlsMode.ACME:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(cluster, facts, names.acme_service_name(cluster)),
        "spec": {
            "type": "ClusterIP",
            "publishNotReadyAddresses": True,
            "selector": names.infra_labels(cluster),
            "ports": [_port("http-80", 80, names.API_PORT), _port("https-443", 443, names.API_PORT)],
        },
    }
