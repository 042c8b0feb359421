"""Ingress and Gateway API routes in front of `<name>-public`, rendered as the reference renders them.

Gateway API objects (HTTPRoute, TLSRoute, BackendTLSPolicy) are optional kinds: their CRDs may be
missing. The render produces them whenever they are asked for; the controller applies them
separately (`GATEWAY_API_GROUP`), so a missing CRD degrades only them and is reported as a condition,
instead of stopping the whole pipeline as in the reference.
"""

from __future__ import annotations

from typing import Any

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.configmaps import backend_tls_wanted
from openbao_operator.render.workload.meta import Manifest, object_meta

GATEWAY_API_GROUP = "gateway.networking.k8s.io"


def is_optional_kind(obj: Manifest) -> bool:
    """Objects whose CRD may be missing: the controller applies them apart and reports a condition instead
    of failing the reconcile when their API is not served."""
    return str(obj.get("apiVersion", "")).startswith(f"{GATEWAY_API_GROUP}/")


def ingress(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest | None:
    spec = cluster.spec.ingress
    if spec is None or not spec.enabled or not spec.host.strip():
        return None
    host = spec.host.strip()
    body: dict[str, Any] = {}
    if spec.class_name is not None and spec.class_name.strip():
        body["ingressClassName"] = spec.class_name.strip()
    body["rules"] = [
        {
            "host": host,
            "http": {
                "paths": [
                    {
                        "path": spec.path or "/",
                        "pathType": "Prefix",
                        "backend": {
                            "service": {"name": names.public_service_name(cluster), "port": {"number": names.API_PORT}}
                        },
                    }
                ]
            },
        }
    ]
    body["tls"] = [{"hosts": [host], "secretName": spec.tls_secret_name or names.tls_server_secret_name(cluster)}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": object_meta(cluster, facts, names.ingress_name(cluster), annotations=spec.annotations),
        "spec": body,
    }


def _parent_refs(cluster: OpenBaoCluster, facts: RenderFacts) -> list[dict[str, Any]]:
    gateway = cluster.spec.gateway
    if gateway is None or gateway.gateway_ref is None:
        return []
    ref: dict[str, Any] = {
        "group": GATEWAY_API_GROUP,
        "kind": "Gateway",
        "name": gateway.gateway_ref.name,
        "namespace": gateway.gateway_ref.namespace or facts.namespace,
    }
    if gateway.listener_name:
        ref["sectionName"] = gateway.listener_name
    return [ref]


def _backend(cluster: OpenBaoCluster) -> dict[str, Any]:
    return {"group": "", "kind": "Service", "name": names.public_service_name(cluster), "port": names.API_PORT}


def _gateway_enabled(cluster: OpenBaoCluster) -> bool:
    gateway = cluster.spec.gateway
    return gateway is not None and gateway.enabled and gateway.gateway_ref is not None and gateway.hostname is not None


def http_route(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest | None:
    gateway = cluster.spec.gateway
    if gateway is None or not _gateway_enabled(cluster) or gateway.tls_passthrough:
        return None
    return {
        "apiVersion": f"{GATEWAY_API_GROUP}/v1",
        "kind": "HTTPRoute",
        "metadata": object_meta(cluster, facts, names.http_route_name(cluster), annotations=gateway.annotations),
        "spec": {
            "parentRefs": _parent_refs(cluster, facts),
            "hostnames": [gateway.hostname],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": gateway.path or "/"}}],
                    "backendRefs": [_backend(cluster)],
                }
            ],
        },
    }


def tls_route(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest | None:
    gateway = cluster.spec.gateway
    if gateway is None or not _gateway_enabled(cluster) or not gateway.tls_passthrough:
        return None
    return {
        "apiVersion": f"{GATEWAY_API_GROUP}/v1alpha2",
        "kind": "TLSRoute",
        "metadata": object_meta(cluster, facts, names.tls_route_name(cluster), annotations=gateway.annotations),
        "spec": {
            "parentRefs": _parent_refs(cluster, facts),
            "hostnames": [gateway.hostname],
            "rules": [{"backendRefs": [_backend(cluster)]}],
        },
    }


def backend_tls_policy(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest | None:
    gateway = cluster.spec.gateway
    if gateway is None or not _gateway_enabled(cluster) or not backend_tls_wanted(cluster):
        return None
    backend_tls = gateway.backend_tls
    hostname = (backend_tls.hostname if backend_tls else None) or (
        f"{names.public_service_name(cluster)}.{facts.namespace}.svc"
    )
    return {
        "apiVersion": f"{GATEWAY_API_GROUP}/v1",
        "kind": "BackendTLSPolicy",
        "metadata": object_meta(cluster, facts, names.backend_tls_policy_name(cluster)),
        "spec": {
            "targetRefs": [{"group": "", "kind": "Service", "name": names.public_service_name(cluster)}],
            "validation": {
                "caCertificateRefs": [
                    {"group": "", "kind": "ConfigMap", "name": names.gateway_ca_config_map_name(cluster)}
                ],
                "hostname": hostname,
            },
        },
    }
