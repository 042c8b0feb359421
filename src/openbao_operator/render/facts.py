"""Observed facts the renderer needs besides the spec: everything here comes from outside, injected.

Rendering is a pure function of (cluster, facts); the controller gathers the facts (namespace,
cluster domain, API-server address, verified image digest, certificate fingerprints, ...) and tests
construct them directly.
"""

from __future__ import annotations

from dataclasses import dataclass


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
