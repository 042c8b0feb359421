"""The cluster's ServiceAccount token issuer and its signing keys, read from the API server.

Why here: only this package talks to the API server. ``selfInit.oidc`` configures OpenBao's JWT auth to
accept the cluster's ServiceAccount tokens; that needs the issuer (``iss`` of every token) and the public
keys that sign them. Both come from the API server's own discovery documents
(``/.well-known/openid-configuration`` and its ``jwks_uri``, normally ``/openid/v1/jwks``), which every
ServiceAccount may read (the default ClusterRoleBinding ``system:service-account-issuer-discovery``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .client import KubeClient
from .errors import KubeError

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/openid/v1/jwks"


class IssuerDiscoveryError(KubeError):
    """The issuer or its keys could not be read; the message names the document."""


@dataclass(frozen=True)
class ServiceAccountIssuer:
    issuer: str
    jwks: dict[str, Any]
    """The JSON Web Key Set, as the API server serves it."""


async def discover_issuer(kube: KubeClient) -> ServiceAccountIssuer:
    """The issuer and JWKS of the API server ``kube`` talks to (the keys are always read from the API server
    itself, never from a URL a document names, so a discovery document cannot send the operator elsewhere)."""
    try:
        doc = await kube.get_path(DISCOVERY_PATH)
    except KubeError as exc:
        raise IssuerDiscoveryError(f"GET {DISCOVERY_PATH}: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("issuer"), str) or not doc["issuer"]:
        raise IssuerDiscoveryError(f"{DISCOVERY_PATH} names no issuer")
    jwks_path = JWKS_PATH
    uri = doc.get("jwks_uri")
    if isinstance(uri, str) and urlsplit(uri).path.startswith("/openid/"):
        jwks_path = urlsplit(uri).path
    try:
        jwks = await kube.get_path(jwks_path)
    except KubeError as exc:
        raise IssuerDiscoveryError(f"GET {jwks_path}: {exc}") from exc
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise IssuerDiscoveryError(f"{jwks_path} holds no keys")
    return ServiceAccountIssuer(issuer=str(doc["issuer"]), jwks=jwks)
