"""NetworkPolicy `<name>-network-policy`: deny by default, then exactly what OpenBao needs, then the user's rules.

Ingress (in order): peers on 8200/8201; the operator on 8200 (init, health, step-down); this cluster's backup
and restore executor pods on 8200 (they stream snapshots; they log in like any client); the Gateway's
namespace on 8200 when it differs; the ingress controller's namespace on 8200 (`spec.ingress.controllerNamespace`);
8200 from any source when that is the choice (see below); then `network.ingressRules`.
Egress (in order): DNS to the DNS namespace on 53/UDP+TCP; the kube-apiserver (service registration and
auto_join cannot start without it, cozystack#2793) as the Service CIDR on 443 and the endpoint IPs on
6443, since CNIs differ in whether they match before or after the Service DNAT; peers on 8200/8201; then
`network.egressRules`.

8200 from any source (`api_exposure`): entry points for clients outside the namespace are an Ingress (its
controller runs in a namespace the spec may name), a NodePort/LoadBalancer Service (clients come from outside
the cluster, as client or node addresses) and ACME mode (the CA validates TLS-ALPN-01 from its own servers,
which for a public CA are anywhere on the internet). An any-source rule would make every narrower rule
meaningless, so:
- `network.allowAPIFromAnywhere: true` adds it; `false` never does (unscoped clients then need ingressRules);
- unset, it is added only for an entry point with no narrower scope (no `ingress.controllerNamespace` for an
  Ingress, no `network.ingressRules` at all), because such clusters worked that way before and must keep
  working; the render then says so (`api_exposure(...).warning`: `render` prints it, the controller puts it into
  the SecurityRisk condition) with the remedy. Given `ingressRules`, they are the scope of every entry point.

Differences from the reference, on purpose: a LoadBalancer/NodePort Service and ACME mode can reach 8200
(the reference's policy silently blackholes them); an Ingress without a known controller namespace is said to
open 8200 to any source (the reference opens it silently, and also next to the user's rules); a missing
API-server address does not fail the render but falls back to ports 443 and 6443 to any address (the
controller always supplies the detected address, so this only shows in offline `render`). The seal's
endpoint (transit, KMIP, a cloud KMS) and the ACME directory are needed to unseal and to get a certificate,
but are DNS names, not IPs: they get an egress rule scoped to their port only (any destination), so a
default policy never leaves a cluster sealed. Audit sinks and other external endpoints need the user's
egressRules.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.api.tls import EffectiveTlsMode
from openbao_operator.render.config import ConfigRenderError
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.meta import Manifest, object_meta

OPERATOR_POD_LABELS = {names.LABEL_NAME: names.OPERATOR_NAME}
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


class NetworkRenderError(ConfigRenderError):
    """An address in spec.network that is not one; `field` names it for the status condition.

    A ConfigRenderError, so the controller and the CLI report every render failure the same way.
    """


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def _ns(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: name}}}


def _api_server_cidr(cluster: OpenBaoCluster, facts: RenderFacts) -> str | None:
    network = cluster.spec.network
    if network is not None and network.api_server_cidr is not None:
        try:
            return str(ipaddress.ip_network(network.api_server_cidr.strip(), strict=False))
        except ValueError as exc:
            raise NetworkRenderError("spec.network.apiServerCIDR", f"not a CIDR: {exc}") from exc
    return facts.api_server_cidr


def _endpoint_blocks(cluster: OpenBaoCluster) -> list[str]:
    network = cluster.spec.network
    blocks: list[str] = []
    for index, raw in enumerate((network.api_server_endpoint_i_ps if network else None) or []):
        if not raw.strip():
            continue  # names nothing (reported in FieldsIgnored)
        try:
            ip = ipaddress.ip_address(raw.strip())
        except ValueError as exc:
            raise NetworkRenderError(f"spec.network.apiServerEndpointIPs[{index}]", f"not an IP: {exc}") from exc
        blocks.append(f"{ip}/{ip.max_prefixlen}")
    return blocks


CLOUD_KMS_PORT = 443
KMIP_PORT = 5696


def _url_port(url: str, default: int) -> int:
    try:
        parts = urlsplit(url if "://" in url else f"//{url}")
        port = parts.port
    except ValueError:
        return default
    if port is not None:
        return port
    return 80 if parts.scheme == "http" else default


def external_ports(cluster: OpenBaoCluster) -> list[int]:
    """Ports of endpoints outside the cluster OpenBao must reach: the seal's and the ACME directory's."""
    ports: list[int] = []
    unseal = cluster.spec.unseal
    if unseal is not None:
        if unseal.type == "transit" and unseal.transit is not None:
            ports.append(_url_port(unseal.transit.address, 8200))
        elif unseal.type == "kmip" and unseal.kmip is not None:
            ports.append(_url_port(unseal.kmip.address, KMIP_PORT))
        elif unseal.type in ("awskms", "gcpckms", "azurekeyvault", "ocikms"):
            ports.append(CLOUD_KMS_PORT)
    tls = cluster.spec.tls
    if tls.effective_mode is EffectiveTlsMode.ACME and tls.acme is not None:
        ports.append(_url_port(tls.acme.directory_url, 443))
    return sorted(set(ports))


@dataclass(frozen=True)
class ApiExposure:
    """Whether port 8200 is open to any source, and what the user should hear about it."""

    from_anywhere: bool
    unscoped: tuple[str, ...]
    """Entry points for outside clients the operator cannot scope (human-readable, naming their spec field)."""
    warning: str | None
    """``spec.network.allowAPIFromAnywhere: ...`` when any source is allowed without the user saying so."""


def _unscoped_entry_points(cluster: OpenBaoCluster) -> list[str]:
    spec = cluster.spec
    found = []
    if spec.ingress is not None and spec.ingress.enabled and spec.ingress.controller_namespace is None:
        found.append("spec.ingress (the ingress controller's namespace is not set)")
    if spec.service is not None and spec.service.type in ("NodePort", "LoadBalancer"):
        found.append(f"spec.service.type {spec.service.type} (clients from outside the cluster)")
    if spec.tls.effective_mode is EffectiveTlsMode.ACME:  # even with tls.enabled false, as in the reference
        found.append("spec.tls.mode ACME (the CA validates from its own servers)")
    return found


def api_exposure(cluster: OpenBaoCluster) -> ApiExposure:
    """The any-source decision of the module docstring, with the warning that goes with it."""
    network = cluster.spec.network
    choice = network.allow_api_from_anywhere if network is not None else None
    unscoped = tuple(_unscoped_entry_points(cluster))
    if choice is not None:
        return ApiExposure(from_anywhere=choice, unscoped=unscoped, warning=None)
    if not unscoped or (network is not None and network.ingress_rules):
        return ApiExposure(from_anywhere=False, unscoped=unscoped, warning=None)
    warning = (
        f"spec.network.allowAPIFromAnywhere: unset, and port {names.API_PORT} is open to any source for "
        f"{'; '.join(unscoped)}; scope it with spec.ingress.controllerNamespace or spec.network.ingressRules, "
        "or set spec.network.allowAPIFromAnywhere: true to confirm"
    )
    return ApiExposure(from_anywhere=True, unscoped=unscoped, warning=warning)


def network_policy(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest:
    peers = {"podSelector": {"matchLabels": names.infra_labels(cluster)}}
    network = cluster.spec.network

    ingress: list[dict[str, Any]] = [
        {"from": [peers], "ports": _tcp(names.API_PORT, names.CLUSTER_PORT)},
        {
            "from": [{**_ns(facts.operator_namespace), "podSelector": {"matchLabels": dict(OPERATOR_POD_LABELS)}}],
            "ports": _tcp(names.API_PORT),
        },
        # NB: the backup and restore executor pods of this cluster (a snapshot is read from, and restored
        # into, the API port; they still log in like any client)
        {"from": [{"podSelector": {"matchLabels": names.executor_pod_selector(cluster.metadata.name)}}],
         "ports": _tcp(names.API_PORT)},
    ]  # fmt: skip
    gateway = cluster.spec.gateway
    if gateway is not None and gateway.enabled and gateway.gateway_ref is not None:
        gateway_ns = gateway.gateway_ref.namespace or facts.namespace
        if gateway_ns != facts.namespace:
            ingress.append({"from": [_ns(gateway_ns)], "ports": _tcp(names.API_PORT)})
    ingress_spec = cluster.spec.ingress
    if ingress_spec is not None and ingress_spec.enabled and ingress_spec.controller_namespace is not None:
        ingress.append({"from": [_ns(ingress_spec.controller_namespace)], "ports": _tcp(names.API_PORT)})
    if api_exposure(cluster).from_anywhere:
        ingress.append({"ports": _tcp(names.API_PORT)})
    ingress.extend(rule.to_json() for rule in (network.ingress_rules if network else None) or [])

    dns_namespace = (network.dns_namespace if network is not None else None) or "kube-system"
    egress: list[dict[str, Any]] = [
        {"to": [_ns(dns_namespace)], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
    ]
    cidr = _api_server_cidr(cluster, facts)
    endpoints = _endpoint_blocks(cluster)
    if cidr is None and not endpoints:
        egress.append({"ports": _tcp(443, 6443)})
    else:
        if cidr is not None:
            egress.append({"to": [{"ipBlock": {"cidr": cidr}}], "ports": _tcp(443)})
        if endpoints:
            egress.append({"to": [{"ipBlock": {"cidr": block}} for block in endpoints], "ports": _tcp(6443)})
    egress.append({"to": [peers], "ports": _tcp(names.API_PORT, names.CLUSTER_PORT)})
    outside = external_ports(cluster)
    if outside:
        egress.append({"ports": _tcp(*outside)})
    egress.extend(rule.to_json() for rule in (network.egress_rules if network else None) or [])

    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta(cluster, facts, names.network_policy_name(cluster)),
        "spec": {
            "podSelector": {"matchLabels": names.infra_labels(cluster)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }
