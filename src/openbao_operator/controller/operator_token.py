"""The token the operator calls OpenBao with (step-down, raft peers): its own identity, or the stored root token.

Why two sources: a cluster with ``spec.selfInit.oidc`` has no root token anywhere; at self-init it was
given JWT auth at ``auth/jwt-operator`` and the role ``openbao-operator``, bound to the operator's
ServiceAccount and the audience (render/config/identity.py). For such a cluster the operator asks the API
server for a short-lived token of its own ServiceAccount (TokenRequest, :data:`JWT_SECONDS`, the shortest
the API server grants; kube/oidc.py) and logs in with it; what the policy of that role allows is what it
may do. Every other cluster uses the stored root token (``<name>-root-token``) as before; under plain
selfInit there is none, and the callers fall back (graceful shutdown, no peer removal).

Why a cache, and why only in memory: every login makes a new OpenBao token (a raft write and a lease that
lives an hour), and the rollout and scale-down ask for a token on many passes; so the token of one login
is kept per cluster (namespace, name, uid: a cluster recreated under the same name is another OpenBao)
until :data:`RENEW_MARGIN` before its TTL ends. It is never written anywhere (no Secret, no status, no
log line: :class:`~openbao_operator.baoapi.Sensitive`), dies with the process (the next leader logs in
again), and the JWT is dropped right after the login. A token OpenBao refuses (403: e.g. a restored
snapshot predates it) is forgotten by the caller (:meth:`OperatorTokens.forget`), so the next pass logs in
again. A failed login is remembered for :data:`RETRY_SECONDS` (no TokenRequest and login on every pass
of a cluster that cannot log in, e.g. one that enabled ``oidc`` only after it was initialised, when the
self-init requests had run already).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from openbao_operator.api import OpenBaoCluster
from openbao_operator.baoapi import BaoApiError, BaoUnavailable, Login, Sensitive
from openbao_operator.kube import KubeClient, Manifest
from openbao_operator.kube.oidc import MIN_EXPIRATION_SECONDS, ServiceAccountToken, TokenRequestError
from openbao_operator.kube.oidc import request_token as kube_request_token
from openbao_operator.render.config.identity import JWT_MOUNT, OPERATOR_ROLE
from openbao_operator.render.facts import DEFAULT_JWT_AUDIENCE

from . import podview
from .bootstrap import root_token
from .step import Context

JWT_SECONDS = MIN_EXPIRATION_SECONDS
"""Lifetime of the ServiceAccount token asked for (it is used once, for the login, right away)."""
RENEW_MARGIN = 60.0
"""Log in again this long before the OpenBao token's TTL ends (a call made with it must not outlive it)."""
UNBOUNDED_TTL_CAP = 3600.0
"""How long a token without a TTL (``lease_duration`` 0) is kept: the role always sets one; this is a bound."""
RETRY_SECONDS = 30.0

Source = Literal["operator", "root-token", "none"]
Key = tuple[str, str, str]
"""(namespace, cluster name, cluster uid)."""


class JwtLogin(Protocol):
    """The one call of :class:`~openbao_operator.baoapi.BaoClient` this module makes."""

    async def jwt_login(self, *, mount: str, role: str, jwt: Sensitive) -> Login: ...


RequestToken = Callable[..., Awaitable[ServiceAccountToken]]


@dataclass(frozen=True)
class OperatorToken:
    """A token and where it came from; ``failure``: why a login just failed (None when it did not)."""

    token: Sensitive | None
    source: Source
    failure: str | None = None

    def describe(self) -> str:
        """How the token was obtained (or why there is none), for Event notes; never the token."""
        if self.token is not None and self.source == "operator":
            return "with the operator's own token (JWT login)"
        if self.token is not None:
            return "with the stored root token"
        if self.source == "operator":
            return "the operator could not log in to OpenBao"
        return "no stored token"


@dataclass(frozen=True, repr=False)
class _Held:
    token: Sensitive | None
    until: float
    error: str


def oidc_enabled(cluster: OpenBaoCluster) -> bool:
    si = cluster.spec.self_init
    return si is not None and si.enabled and si.oidc is not None and si.oidc.enabled


def audience(cluster: OpenBaoCluster) -> str:
    si = cluster.spec.self_init
    return (si.oidc.audience if si is not None and si.oidc is not None else None) or DEFAULT_JWT_AUDIENCE


class OperatorTokens:
    """OpenBao tokens of the operator's own identity, one per cluster, in memory only (see the module doc)."""

    def __init__(
        self,
        kube: KubeClient,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        request_token: RequestToken = kube_request_token,
    ) -> None:
        self.kube = kube
        self.monotonic = monotonic
        self.request_token = request_token
        self._held: dict[Key, _Held] = {}

    def __repr__(self) -> str:
        return f"OperatorTokens({len(self._held)} held)"

    async def get(
        self, key: Key, *, client: JwtLogin, namespace: str, service_account: str, audience: str
    ) -> OperatorToken:
        """The held token of ``key`` while it is fresh, else a TokenRequest of ``namespace/service_account``
        for ``audience`` and a login through ``client`` (one node of that cluster)."""
        now = self.monotonic()
        self._held = {k: h for k, h in self._held.items() if h.until > now}
        held = self._held.get(key)
        if held is not None:
            return OperatorToken(held.token, "operator")
        try:
            sa_token = await self.request_token(
                self.kube,
                namespace=namespace,
                service_account=service_account,
                audience=audience,
                expiration_seconds=JWT_SECONDS,
            )
            login = await client.jwt_login(mount=JWT_MOUNT, role=OPERATOR_ROLE, jwt=Sensitive(sa_token.jwt))
        except (TokenRequestError, BaoUnavailable, BaoApiError) as exc:
            error = f"login to auth/{JWT_MOUNT} as role {OPERATOR_ROLE} failed: {exc}"
            self._held[key] = _Held(None, now + RETRY_SECONDS, error)
            return OperatorToken(None, "operator", failure=error)
        ttl = float(login.ttl_seconds) if login.ttl_seconds > 0 else UNBOUNDED_TTL_CAP
        # NB: a TTL shorter than twice the margin is still used for half of it, never not at all
        keep = max(ttl - RENEW_MARGIN, ttl / 2)
        self._held[key] = _Held(login.token, now + keep, "")
        return OperatorToken(login.token, "operator")

    def forget(self, key: Key) -> None:
        """Drop a token OpenBao refused; the next :meth:`get` logs in again."""
        self._held.pop(key, None)


def key_of(ctx: Context) -> Key:
    return (ctx.namespace, ctx.key.name, ctx.owner_uid)


def login_pod(pods: Sequence[Manifest]) -> Manifest | None:
    """The pod to log in through: the active one if it is labelled so, else any Ready one (a standby
    forwards the login to the active node)."""
    usable = [p for p in pods if podview.running(p) and podview.ready(p) and not podview.terminating(p)]
    return next((p for p in usable if podview.active(p)), usable[0] if usable else None)


async def operator_token(ctx: Context, *, pods: Sequence[Manifest]) -> OperatorToken:
    """The token for the operator's calls to this cluster's OpenBao: its own identity under
    ``selfInit.oidc``, else the stored root token (None in either case when there is none)."""
    cluster, clients = ctx.cluster, ctx.clients
    if not oidc_enabled(cluster):
        token = await root_token(cluster, reader=clients.reader, namespace=ctx.namespace)
        return OperatorToken(token, "root-token" if token is not None else "none")
    tokens = clients.operator_tokens
    pod = login_pod(pods)
    where = podview.target(cluster, pod, namespace=ctx.namespace, ca_pem=ctx.ca_pem) if pod is not None else None
    if tokens is None or where is None:
        return OperatorToken(None, "operator")
    return await tokens.get(
        key_of(ctx),
        client=clients.connect(where),
        namespace=ctx.config.operator_namespace,
        service_account=ctx.config.operator_service_account,
        audience=audience(cluster),
    )


def refused(exc: BaseException) -> bool:
    """OpenBao refused the token itself (403): a held token of the operator's must be forgotten."""
    return isinstance(exc, BaoApiError) and exc.status == 403
