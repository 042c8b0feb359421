"""Observed facts the renderer needs besides the spec: everything here comes from outside, injected.

Rendering is a pure function of (cluster, facts); the controller gathers the facts (namespace,
cluster domain, API-server address, verified image digest, certificate fingerprints, ...) and tests
construct them directly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UnsealKeyRef:
    """A static unseal key Secret and the key id OpenBao knows it by (from `seal.plan_unseal_key`)."""

    secret_name: str
    key_id: str


DEFAULT_JWT_AUDIENCE = "openbao-internal"
DEFAULT_OPERATOR_SERVICE_ACCOUNT = "openbao-operator"


@dataclass(frozen=True, kw_only=True)
class OperatorIdentity:
    """What spec.selfInit.oidc needs from outside: the cluster's ServiceAccount issuer and signing keys (read
    from the API server by the controller) and who the operator is."""

    issuer: str
    """``iss`` of the cluster's ServiceAccount tokens (spec.selfInit.oidc.issuer overrides it)."""
    pubkeys_pem: tuple[str, ...]
    """The keys that sign them, PEM (from the API server's JWKS)."""
    operator_service_account: str = DEFAULT_OPERATOR_SERVICE_ACCOUNT
    """The operator's ServiceAccount name (its namespace is RenderFacts.operator_namespace)."""
    audience: str = DEFAULT_JWT_AUDIENCE
    """Default audience of the roles (spec.selfInit.oidc.audience overrides it)."""


@dataclass(frozen=True, kw_only=True)
class RenderFacts:
    """What the renderer may depend on beyond the OpenBaoCluster itself."""

    namespace: str
    """Namespace of the cluster (metadata.namespace, or the CLI's --namespace)."""
    cluster_domain: str = "cluster.local"
    """The Kubernetes cluster DNS domain; a setting of the operator, never assumed."""
    operator_namespace: str = "openbao-operator-system"
    """Namespace the operator runs in (for NetworkPolicy ingress from the operator)."""
    api_server_cidr: str | None = None
    """Detected API-server address as a CIDR, when spec.network.apiServerCIDR is unset."""
    verified_image: str | None = None
    """repo@sha256:... whose signature was verified; replaces the image when set."""
    tls_cert_sha256: str | None = None
    """Fingerprint of the served certificate, for versions that cannot reload certificates themselves."""
    initialized: bool = False
    """OpenBao reported initialized (status.initialized)."""
    replicas: int | None = None
    """The StatefulSet's replica count when the controller has decided it (a live count held while
    initialization is unknown, or while a scale-down's step-down or raft peer removal is pending); None:
    spec.replicas once initialized, 1 before (the bootstrap pod)."""
    owner_uid: str | None = None
    """metadata.uid of the OpenBaoCluster; the controller ownerReference of every owned object needs it.
    Unknown (the CLI without a live cluster): objects are rendered without an ownerReference."""
    unseal_key: UnsealKeyRef | None = None
    """The static key OpenBao must use now (the seal plan's `current`); None before the first key exists,
    when the render assumes `<name>-unseal-key` and shows the Secret the seal package will create."""
    unseal_previous_key: UnsealKeyRef | None = None
    """The key kept mounted as OpenBao's previous_key during a rotation (the seal plan's `previous`)."""
    operator_identity: OperatorIdentity | None = None
    """For spec.selfInit.oidc: the issuer and keys OpenBao's JWT auth is configured with; None while not
    discovered (then an uninitialised cluster with oidc enabled is not rendered: its self-init would leave
    nobody a way in)."""
    tls_ca_pem: str | None = None
    """The CA certificate (public) of the served certificate, for the Gateway's BackendTLSPolicy ConfigMap."""
