"""The cluster's ServiceAccount token issuer and its signing keys, read from the API server.

Why here: only this package talks to the API server. ``selfInit.oidc`` configures OpenBao's JWT auth to
accept the cluster's ServiceAccount tokens; that needs the issuer (``iss`` of every token) and the public
keys that sign them. Both come from the API server's own discovery documents
(``/.well-known/openid-configuration`` and its ``jwks_uri``, normally ``/openid/v1/jwks``), which every
ServiceAccount may read (the default ClusterRoleBinding ``system:service-account-issuer-discovery``).

:func:`request_token` is the other half: a short-lived token of the operator's own ServiceAccount
(TokenRequest, ``POST serviceaccounts/<name>/token``) with which it logs in to OpenBao's JWT auth. Its value
is held in :class:`ServiceAccountToken`, whose ``repr`` never shows it; it is never written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from .client import KubeClient
from .errors import KubeError

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/openid/v1/jwks"
MIN_EXPIRATION_SECONDS = 600
"""The shortest lifetime the API server grants a requested token (TokenRequest validation)."""


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


class TokenRequestError(KubeError):
    """A ServiceAccount token could not be requested; the message names the ServiceAccount, never a token."""


@dataclass(frozen=True)
class ServiceAccountToken:
    """A TokenRequest's answer: the JWT (left out of ``repr``) and when it expires."""

    jwt: str = field(repr=False)
    expires_at: datetime | None


async def request_token(
    kube: KubeClient,
    *,
    namespace: str,
    service_account: str,
    audience: str,
    expiration_seconds: int = MIN_EXPIRATION_SECONDS,
) -> ServiceAccountToken:
    """A token of ``namespace/service_account`` for ``audience`` (``create serviceaccounts/token``, which the
    operator holds only for its own ServiceAccount), bound to no object and living ``expiration_seconds``."""
    path = f"/api/v1/namespaces/{quote(namespace, safe='')}/serviceaccounts/{quote(service_account, safe='')}/token"
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"audiences": [audience], "expirationSeconds": expiration_seconds},
    }
    what = f"a token of ServiceAccount {namespace}/{service_account}"
    try:
        answer = await kube.post_path(path, body)
    except KubeError as exc:
        raise TokenRequestError(f"{what}: {exc}") from exc
    status: dict[str, Any] = {}
    if isinstance(answer, dict) and isinstance(answer.get("status"), dict):
        status = answer["status"]
    jwt = status.get("token")
    if not isinstance(jwt, str) or not jwt:
        raise TokenRequestError(f"{what}: the answer holds no token")
    return ServiceAccountToken(jwt=jwt, expires_at=_timestamp(status.get("expirationTimestamp")))


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
