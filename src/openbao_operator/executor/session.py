"""Reach the active node and log in: what both executors do before moving a snapshot.

Why the active node: a snapshot is read from (and restored into) the leader; a standby would forward the
request or refuse it. The configured address may be any node or a Service; ``sys/leader`` names the active
node's API address, which is used from then on (verified by its own host name against the same CA).
The JWT or token file is read at the moment of login and kept only as :class:`Sensitive`; a token the
executor obtained by login is revoked when it is done (it would otherwise live until its TTL).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from openbao_operator.api.executor import ExecutorConfig
from openbao_operator.baoapi import BaoApiError, BaoUnavailable, Sensitive
from openbao_operator.baoapi.snapshots import SnapshotClient, node_target

from .errors import ExecutorConfigError, OpenBaoError

ClientFactory = Callable[..., SnapshotClient]


@dataclass(frozen=True)
class Session:
    client: SnapshotClient
    """The active node."""
    token: Sensitive
    version: str
    """The active node's OpenBao version."""


def _read_secret_file(path: str, *, field: str) -> Sensitive:
    try:
        text = Path(path).read_text().strip()
    except OSError as exc:
        raise ExecutorConfigError(field, f"cannot read {path}: {exc.strerror}") from None
    if not text:
        raise ExecutorConfigError(field, f"{path} is empty")
    return Sensitive(text)


def _ca_pem(config: ExecutorConfig) -> str | None:
    if config.openbao.ca_file is None:
        return None
    try:
        return Path(config.openbao.ca_file).read_text()
    except OSError as exc:
        raise ExecutorConfigError("openbao.caFile", f"cannot read {config.openbao.ca_file}: {exc.strerror}") from None


async def _active(config: ExecutorConfig, ca_pem: str | None, factory: ClientFactory) -> SnapshotClient:
    try:
        first = factory(node_target(config.openbao.address, ca_pem=ca_pem, server_name=config.openbao.server_name))
    except ValueError as exc:
        raise ExecutorConfigError("openbao.address", str(exc)) from None
    leader = await first.leader()
    if leader.is_self or not leader.ha_enabled or not leader.leader_address:
        return first
    return factory(node_target(leader.leader_address, ca_pem=ca_pem))


@asynccontextmanager
async def open_session(config: ExecutorConfig, *, factory: ClientFactory = SnapshotClient) -> AsyncIterator[Session]:
    """Logged in on the active node; a token from a JWT login is revoked on the way out."""
    ca_pem = _ca_pem(config)
    auth = config.auth
    try:
        client = await _active(config, ca_pem, factory)
        if auth.method == "jwt":
            jwt = _read_secret_file(auth.jwt_file, field="auth.jwtFile")
            token = await client.jwt_login(mount=auth.mount, role=str(auth.role), jwt=jwt)
        else:
            token = _read_secret_file(str(auth.token_file), field="auth.tokenFile")
        version = await client.version()
    except (BaoApiError, BaoUnavailable) as exc:
        raise OpenBaoError(str(exc)) from None
    try:
        yield Session(client=client, token=token, version=version)
    finally:
        if auth.method == "jwt":
            # After a restore the token store is the snapshot's: the token is gone already.
            with contextlib.suppress(BaoApiError, BaoUnavailable):
                await client.revoke_self(token)
