"""How OpenBao is reached: the external Service, Ingress, Gateway API routes and the NetworkPolicy."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import ApiModel, Rule
from .k8s import NetworkPolicyEgressRule, NetworkPolicyIngressRule
from .types import EMPTY_IS_UNSET, DnsLabel, Hostname, HttpPath, ObjectName


class ServiceConfig(ApiModel):
    """The external Service <name>-public. Its presence (even `{}`) creates the Service."""

    type: Annotated[Literal["ClusterIP", "NodePort", "LoadBalancer"] | None, EMPTY_IS_UNSET] = None
    """Service type (default ClusterIP). Not ExternalName: a Service of that type needs spec.externalName
    (Kubernetes refuses it without one) and routes to no pod."""
    annotations: dict[str, str] | None = None
    """Annotations of the Service, for example for a cloud load balancer."""


class IngressConfig(ApiModel):
    """An Ingress <name> in front of the external Service."""

    enabled: bool = False
    """Create the Ingress."""
    class_name: Annotated[str | None, EMPTY_IS_UNSET] = None
    """IngressClass name."""
    host: Hostname
    """Host name the Ingress serves."""
    path: Annotated[HttpPath | None, EMPTY_IS_UNSET] = "/"
    """Path prefix."""
    tls_secret_name: Annotated[ObjectName | None, EMPTY_IS_UNSET] = None
    """Secret with the certificate the Ingress controller serves (default <name>-tls-server)."""
    annotations: dict[str, str] | None = None
    """Annotations of the Ingress."""
    controller_namespace: DnsLabel | None = None
    """Namespace of the ingress controller's pods: the NetworkPolicy lets that namespace reach port 8200. Unset
    (and no network.ingressRules), the controller's namespace is unknown and port 8200 stays open to any source,
    as reported in status (see network.allowAPIFromAnywhere)."""


class GatewayRef(ApiModel):
    """The Gateway the route attaches to."""

    name: ObjectName
    """Gateway name."""
    namespace: Annotated[ObjectName | None, EMPTY_IS_UNSET] = None
    """Gateway namespace (default: the cluster's namespace)."""


class BackendTlsConfig(ApiModel):
    """A BackendTLSPolicy so the Gateway verifies OpenBao's certificate."""

    enabled: bool = True
    """Create the BackendTLSPolicy (when TLS is enabled and not passthrough)."""
    hostname: Annotated[Hostname | None, EMPTY_IS_UNSET] = None
    """Host name the Gateway verifies (default <name>-public.<namespace>.svc)."""


class GatewayConfig(ApiModel):
    """Gateway API routes: an HTTPRoute, or a TLSRoute for passthrough."""

    rules = (
        Rule(
            cel="!self.enabled || has(self.gatewayRef)",
            check=lambda m: not m.enabled or m.gateway_ref is not None,
            message="required when spec.gateway.enabled is true",
            field="gatewayRef",
        ),
        Rule(
            cel="!self.enabled || has(self.hostname)",
            check=lambda m: not m.enabled or m.hostname is not None,
            message="required when spec.gateway.enabled is true",
            field="hostname",
        ),
    )

    enabled: bool = False
    """Create the route."""
    listener_name: Annotated[str | None, EMPTY_IS_UNSET] = None
    """Gateway listener to attach to (the parentRef sectionName)."""
    gateway_ref: GatewayRef | None = None
    """The Gateway; required when enabled."""
    hostname: Hostname | None = None
    """Host name of the route; required when enabled."""
    path: Annotated[HttpPath | None, EMPTY_IS_UNSET] = "/"
    """Path prefix of the HTTPRoute."""
    annotations: dict[str, str] | None = None
    """Annotations of the route."""
    backend_tls: BackendTlsConfig | None = Field(default=None, alias="backendTLS")
    """Gateway-to-OpenBao TLS verification."""
    tls_passthrough: bool = False
    """Use a TLSRoute and let OpenBao terminate TLS (required with ACME)."""


class NetworkConfig(ApiModel):
    """The NetworkPolicy <name>-network-policy: what the operator allows, plus your own rules."""

    api_server_cidr: Annotated[str | None, EMPTY_IS_UNSET] = Field(default=None, alias="apiServerCIDR")
    """CIDR of the Kubernetes API server (egress on 443); detected when unset."""
    api_server_endpoint_i_ps: list[str] | None = Field(default=None, alias="apiServerEndpointIPs")
    """API server endpoint IPs (egress on 6443); empty entries are skipped (and reported)."""
    dns_namespace: Annotated[DnsLabel | None, EMPTY_IS_UNSET] = "kube-system"
    """Namespace of the cluster DNS (egress on 53)."""
    egress_rules: list[NetworkPolicyEgressRule] | None = None
    """Extra egress rules, appended after the operator's."""
    ingress_rules: list[NetworkPolicyIngressRule] | None = None
    """Extra ingress rules, appended after the operator's. With an entry point for clients outside the namespace
    (Ingress, a NodePort or LoadBalancer Service, ACME), these rules are its scope: no any-source rule is added."""
    allow_api_from_anywhere: bool | None = Field(default=None, alias="allowAPIFromAnywhere")
    """Port 8200 from any source (every namespace and outside the cluster). true: always. false: never; clients
    of an Ingress (without ingress.controllerNamespace), a NodePort or LoadBalancer Service or ACME validation
    need ingressRules. Unset: only while such an entry point has no narrower scope (ingress.controllerNamespace,
    ingressRules), and then reported in the SecurityRisk condition."""
