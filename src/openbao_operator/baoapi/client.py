"""One OpenBao node's HTTP API (see the package docstring)."""

from __future__ import annotations

import ssl
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx2

DEFAULT_TIMEOUT = 5.0
INIT_TIMEOUT = 60.0
"""sys/init sets up raft and the barrier before it answers (seconds on a slow disk); a timeout here would
lose the root token of an initialized cluster, so it gets a long one."""


class Sensitive:
    """A secret string: ``str``/``repr`` say ``<redacted>``; read it with :meth:`reveal` where it is stored."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Sensitive(<redacted>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sensitive) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class BaoUnavailable(Exception):  # noqa: N818 (a state, not a programming error)
    """The node did not answer (connection refused, timeout, TLS handshake)."""


class BaoApiError(Exception):
    """The node answered with an unexpected HTTP status; ``errors`` are OpenBao's messages (never secrets)."""

    def __init__(self, what: str, status: int, errors: list[str]) -> None:
        super().__init__(f"{what}: HTTP {status}: {'; '.join(errors) or 'no message'}")
        self.status = status
        self.errors = errors


@dataclass(frozen=True)
class Target:
    """Where one node is: ``base_url`` (``https://<pod IP>:8200``), the name its certificate is verified by
    (the pod's DNS name; sent as SNI), and the PEM trust bundle (None: plain HTTP, TLS disabled)."""

    base_url: str
    server_name: str | None = None
    ca_pem: str | None = None


@dataclass(frozen=True)
class Health:
    initialized: bool
    sealed: bool
    standby: bool
    version: str

    @property
    def active(self) -> bool:
        return self.initialized and not self.sealed and not self.standby


@dataclass(frozen=True)
class InitResult:
    root_token: Sensitive
    recovery_keys: tuple[Sensitive, ...]


@dataclass(frozen=True)
class Login:
    """An OpenBao client token from a login and how long it lives (``auth.lease_duration``; 0: no TTL)."""

    token: Sensitive
    ttl_seconds: int


@dataclass(frozen=True)
class RaftPeer:
    node_id: str
    address: str
    leader: bool
    voter: bool


@dataclass(frozen=True)
class LeaderInfo:
    """``GET sys/leader`` (unauthenticated): whether this node leads, whom it follows, and its Raft indexes."""

    is_self: bool
    leader_address: str
    committed_index: int | None
    applied_index: int | None


@dataclass(frozen=True)
class AutopilotServer:
    """One server of ``GET sys/storage/raft/autopilot/state`` (keyed by node id there)."""

    node_id: str
    status: str
    """leader, voter or non-voter."""
    healthy: bool
    last_index: int | None


@dataclass(frozen=True)
class AutopilotState:
    healthy: bool
    leader: str
    servers: Mapping[str, AutopilotServer]


def _index(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _errors(body: Any) -> list[str]:
    if isinstance(body, Mapping):
        errs = body.get("errors")
        if isinstance(errs, list):
            return [str(e) for e in errs]
    return []


_CONTEXTS: OrderedDict[str, ssl.SSLContext] = OrderedDict()
_CONTEXTS_LIMIT = 64


def trust_context(ca_pem: str) -> ssl.SSLContext:
    """A client TLS context trusting exactly ``ca_pem``, shared by the requests to the nodes of that bundle.

    Why shared: building a context parses the bundle and sets up OpenSSL's store (about a millisecond); a
    waiting cluster's pod is asked every few seconds and each request used to build its own. A context holds
    only public trust material and is never changed after it is built; the 64 most recently used bundles
    are kept."""
    context = _CONTEXTS.get(ca_pem)
    if context is None:
        context = _CONTEXTS[ca_pem] = ssl.create_default_context(cadata=ca_pem)
        while len(_CONTEXTS) > _CONTEXTS_LIMIT:
            _CONTEXTS.popitem(last=False)
    _CONTEXTS.move_to_end(ca_pem)
    return context


class BaoClient:
    """Requests to one node. Each call opens and closes its own connection (calls are rare: bootstrap,
    step-down, peer removal), so the client holds no state worth closing."""

    def __init__(
        self,
        target: Target,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.transport = transport

    def _verify(self) -> ssl.SSLContext | bool:
        if self.target.ca_pem is None:
            return True
        return trust_context(self.target.ca_pem)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        token: Sensitive | None = None,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 204),
        request_timeout: float | None = None,
    ) -> tuple[int, Any]:
        headers = {"X-Vault-Request": "true"}
        if token is not None:
            headers["X-Vault-Token"] = token.reveal()
        extensions = {"sni_hostname": self.target.server_name} if self.target.server_name else None
        try:
            async with httpx2.AsyncClient(
                verify=self._verify(), timeout=httpx2.Timeout(request_timeout or self.timeout), transport=self.transport
            ) as http:
                resp = await http.request(
                    method,
                    f"{self.target.base_url}/v1/{path}",
                    headers=headers,
                    json=json,
                    params=dict(params or {}),
                    extensions=extensions,
                )
        except (httpx2.TransportError, ssl.SSLError) as exc:
            raise BaoUnavailable(f"{what}: {type(exc).__name__}: {exc}") from None
        body: Any = None
        if resp.content:
            try:
                body = resp.json()
            except ValueError:
                body = None
        if resp.status_code not in ok:
            raise BaoApiError(what, resp.status_code, _errors(body))
        return resp.status_code, body

    async def health(self) -> Health:
        """``GET sys/health`` with every state answered 200, so the body always says what the node is."""
        params = {"standbyok": "true", "sealedcode": "200", "uninitcode": "200", "activecode": "200"}
        _, body = await self._request("GET", "sys/health", what="health", params=params)
        body = body or {}
        return Health(
            initialized=bool(body.get("initialized")),
            sealed=bool(body.get("sealed")),
            standby=bool(body.get("standby")),
            version=str(body.get("version") or ""),
        )

    async def initialized(self) -> bool:
        """``GET sys/init`` (answers in every seal state)."""
        _, body = await self._request("GET", "sys/init", what="init status")
        return bool((body or {}).get("initialized"))

    async def initialize(self, *, recovery_shares: int, recovery_threshold: int) -> InitResult:
        """``PUT sys/init`` for an auto-unseal node: recovery shares, no unseal keys."""
        data = {"recovery_shares": recovery_shares, "recovery_threshold": recovery_threshold}
        _, body = await self._request("PUT", "sys/init", what="initialize", json=data, request_timeout=INIT_TIMEOUT)
        body = body or {}
        keys = body.get("recovery_keys_b64") or body.get("recovery_keys") or []
        return InitResult(
            root_token=Sensitive(str(body.get("root_token") or "")),
            recovery_keys=tuple(Sensitive(str(k)) for k in keys),
        )

    async def step_down(self, token: Sensitive) -> None:
        """``PUT sys/step-down``: the active node gives up leadership (a standby takes over)."""
        await self._request("PUT", "sys/step-down", what="step-down", token=token)

    async def jwt_login(self, *, mount: str, role: str, jwt: Sensitive) -> Login:
        """``POST auth/<mount>/login`` with a JWT (a ServiceAccount token): the client token and its TTL."""
        what = f"JWT login (role {role})"
        _, body = await self._request(
            "POST", f"auth/{mount}/login", what=what, json={"role": role, "jwt": jwt.reveal()}
        )
        auth = (body or {}).get("auth") or {}
        token = auth.get("client_token")
        if not token:
            raise BaoApiError(what, 200, ["the answer carries no client token"])
        try:
            ttl = max(0, int(auth.get("lease_duration") or 0))
        except (TypeError, ValueError):
            ttl = 0
        return Login(token=Sensitive(str(token)), ttl_seconds=ttl)

    async def revoke_self(self, token: Sensitive) -> None:
        """``PUT auth/token/revoke-self``: the token (and its children) stop working."""
        await self._request("PUT", "auth/token/revoke-self", what="revoke token", token=token)

    async def leader(self) -> LeaderInfo:
        """``GET sys/leader``: answers without a token once the node is unsealed."""
        _, body = await self._request("GET", "sys/leader", what="leader")
        body = body or {}
        return LeaderInfo(
            is_self=bool(body.get("is_self")),
            leader_address=str(body.get("leader_address") or ""),
            committed_index=_index(body.get("raft_committed_index")),
            applied_index=_index(body.get("raft_applied_index")),
        )

    async def autopilot_state(self, token: Sensitive) -> AutopilotState:
        """``GET sys/storage/raft/autopilot/state`` (the operator's policy may read it)."""
        _, body = await self._request("GET", "sys/storage/raft/autopilot/state", what="autopilot state", token=token)
        data = (body or {}).get("data") or {}
        servers = {
            str(node_id): AutopilotServer(
                node_id=str(node_id),
                status=str(s.get("status") or ""),
                healthy=bool(s.get("healthy")),
                last_index=_index(s.get("last_index")),
            )
            for node_id, s in (data.get("servers") or {}).items()
            if isinstance(s, Mapping)
        }
        return AutopilotState(healthy=bool(data.get("healthy")), leader=str(data.get("leader") or ""), servers=servers)

    async def raft_peers(self, token: Sensitive) -> list[RaftPeer]:
        _, body = await self._request("GET", "sys/storage/raft/configuration", what="raft peers", token=token)
        servers = (((body or {}).get("data") or {}).get("config") or {}).get("servers") or []
        return [
            RaftPeer(
                node_id=str(s.get("node_id")),
                address=str(s.get("address")),
                leader=bool(s.get("leader")),
                voter=bool(s.get("voter")),
            )
            for s in servers
        ]

    async def remove_peer(self, token: Sensitive, node_id: str) -> None:
        await self._request(
            "POST", "sys/storage/raft/remove-peer", what="remove raft peer", token=token, json={"server_id": node_id}
        )
