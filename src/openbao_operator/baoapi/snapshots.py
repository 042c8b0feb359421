"""Logins and raft snapshots: the calls an executor Job makes, streamed so no snapshot is ever held whole.

Why apart from :mod:`.client`: these calls move data of any size (a raft snapshot is as large as the
cluster's storage), so they stream both ways and bound every read and write by a per-chunk timeout instead
of one total timeout. Tokens travel as :class:`~.client.Sensitive`, so an exception or a log line never
shows them; snapshot bytes are never part of an error message.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2

from .client import BaoApiError, BaoClient, BaoUnavailable, Sensitive, Target, _errors

CHUNK_TIMEOUT = 120.0
"""Longest wait for one chunk of a snapshot (OpenBao writes the snapshot as it reads its store)."""
READ_CHUNK = 1 << 20
"""Chunk size handed on from a snapshot download."""


@dataclass(frozen=True)
class Leader:
    """``sys/leader`` as seen by one node."""

    is_self: bool
    leader_address: str
    ha_enabled: bool


class SnapshotClient:
    """Streaming calls to one node (its ``Target``). Opens a connection per call, like :class:`BaoClient`."""

    def __init__(self, target: Target, *, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self.target = target
        self.transport = transport

    def _client(self, *, timeout: float = CHUNK_TIMEOUT) -> httpx2.AsyncClient:
        verify: ssl.SSLContext | bool = True
        if self.target.ca_pem is not None:
            verify = ssl.create_default_context(cadata=self.target.ca_pem)
        return httpx2.AsyncClient(verify=verify, timeout=httpx2.Timeout(timeout), transport=self.transport)

    def _extensions(self) -> dict[str, Any] | None:
        return {"sni_hostname": self.target.server_name} if self.target.server_name else None

    def _url(self, path: str) -> str:
        return f"{self.target.base_url}/v1/{path}"

    async def _json(
        self,
        method: str,
        path: str,
        *,
        what: str,
        token: Sensitive | None = None,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """A small JSON request: the same as :class:`BaoClient` sends (one place translates its errors)."""
        client = BaoClient(self.target, timeout=30.0, transport=self.transport)
        _, data = await client._request(method, path, what=what, token=token, json=body, params=params)
        return data

    async def jwt_login(self, *, mount: str, role: str, jwt: Sensitive) -> Sensitive:
        """``POST auth/<mount>/login`` with a ServiceAccount token; returns the OpenBao client token."""
        client = BaoClient(self.target, timeout=30.0, transport=self.transport)
        return (await client.jwt_login(mount=mount, role=role, jwt=jwt)).token

    async def revoke_self(self, token: Sensitive) -> None:
        """``POST auth/token/revoke-self``: the executor's token dies with the Job, not at its TTL."""
        await self._json("POST", "auth/token/revoke-self", what="revoke token", token=token)

    async def leader(self) -> Leader:
        """``GET sys/leader`` (unauthenticated)."""
        data = await self._json("GET", "sys/leader", what="leader") or {}
        return Leader(
            is_self=bool(data.get("is_self")),
            leader_address=str(data.get("leader_address") or ""),
            ha_enabled=bool(data.get("ha_enabled")),
        )

    async def version(self) -> str:
        """The node's OpenBao version, from ``sys/health`` (every state answered 200)."""
        params = {"standbyok": "true", "sealedcode": "200", "uninitcode": "200", "activecode": "200"}
        data = await self._json("GET", "sys/health", what="health", params=params) or {}
        return str(data.get("version") or "")

    @asynccontextmanager
    async def snapshot(self, token: Sensitive) -> AsyncIterator[AsyncIterator[bytes]]:
        """``GET sys/storage/raft/snapshot`` as a stream of chunks (use on the active node)."""
        headers = {"X-Vault-Request": "true", "X-Vault-Token": token.reveal()}
        try:
            async with (
                self._client() as http,
                http.stream(
                    "GET", self._url("sys/storage/raft/snapshot"), headers=headers, extensions=self._extensions()
                ) as resp,
            ):
                if resp.status_code != 200:
                    body = await resp.aread()
                    raise BaoApiError("snapshot", resp.status_code, _errors(_maybe_json(body)))
                yield resp.aiter_bytes(READ_CHUNK)
        except (httpx2.TransportError, ssl.SSLError) as exc:
            raise BaoUnavailable(f"snapshot: {type(exc).__name__}: {exc}") from None

    async def restore(self, token: Sensitive, chunks: AsyncIterable[bytes], *, force: bool) -> None:
        """``POST sys/storage/raft/snapshot`` (or ``snapshot-force``) with the body streamed from ``chunks``.

        OpenBao reads the whole body and checks the archive's own checksums before it installs anything;
        an exception raised by ``chunks`` aborts the request mid-body, so a half-sent snapshot is never
        installed.
        """
        path = "sys/storage/raft/snapshot-force" if force else "sys/storage/raft/snapshot"
        headers = {
            "X-Vault-Request": "true",
            "X-Vault-Token": token.reveal(),
            "Content-Type": "application/octet-stream",
        }
        what = "restore (force)" if force else "restore"
        try:
            async with self._client(timeout=600.0) as http:
                resp = await http.post(self._url(path), headers=headers, content=chunks, extensions=self._extensions())
        except (httpx2.TransportError, ssl.SSLError) as exc:
            raise BaoUnavailable(f"{what}: {type(exc).__name__}: {exc}") from None
        if resp.status_code not in (200, 204):
            raise BaoApiError(what, resp.status_code, _errors(_maybe_json(resp.content)))


def _maybe_json(body: bytes) -> Any:
    import json

    try:
        return json.loads(body)
    except ValueError:
        return None


def node_target(address: str, *, ca_pem: str | None, server_name: str | None = None) -> Target:
    """A :class:`Target` for a URL such as ``https://bao-0.bao-internal.ns.svc:8200`` (the server name is the
    URL's host unless given)."""
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {address!r}")
    base = f"{parts.scheme}://{parts.netloc}"
    tls_ca = ca_pem if parts.scheme == "https" else None
    return Target(base_url=base, server_name=server_name, ca_pem=tls_ca)
