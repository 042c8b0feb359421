"""The operator's identity facts for ``spec.selfInit.oidc``: the ServiceAccount issuer and its keys, read once.

Why remembered: every pass of a cluster with ``selfInit.oidc`` renders its config.hcl with the issuer and
the public keys that sign the cluster's ServiceAccount tokens (render/config/identity.py), and they change
only when the API server's signing keys rotate. So they are read from the API server's discovery documents
(kube/oidc.py) once, kept for :data:`REFRESH_SECONDS`, and read again after that (a rotated key then
changes the rendered config, and the pods roll to it like any other config change). A failed read is
remembered only for :data:`RETRY_SECONDS`, so a cluster waiting for it is looked at again soon; a failed
refresh keeps the keys read before.

Clusters without ``selfInit.oidc`` never cause a read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from openbao_operator.kube import KubeClient
from openbao_operator.kube.oidc import IssuerDiscoveryError, discover_issuer
from openbao_operator.pki.jwks import JwkError, jwks_to_pems
from openbao_operator.render.facts import DEFAULT_OPERATOR_SERVICE_ACCOUNT, OperatorIdentity

REFRESH_SECONDS = 3600.0
RETRY_SECONDS = 30.0


class IdentityUnavailable(Exception):  # noqa: N818 - a state, named as one
    """The issuer or its keys could not be read; the message says which document and why."""


@dataclass(frozen=True)
class _Known:
    identity: OperatorIdentity | None
    error: str
    at: float


class IdentitySource:
    """The issuer and keys of the API server ``kube`` talks to, for one operator process."""

    def __init__(
        self,
        kube: KubeClient,
        *,
        service_account: str = DEFAULT_OPERATOR_SERVICE_ACCOUNT,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kube = kube
        self.service_account = service_account
        self.monotonic = monotonic
        self._known: _Known | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> OperatorIdentity:
        """The identity facts; raises :class:`IdentityUnavailable` while they cannot be read."""
        async with self._lock:  # NB: one read for the many clusters that ask at once after a start
            known = self._known
            now = self.monotonic()
            fresh_for = REFRESH_SECONDS if known is not None and known.identity is not None else RETRY_SECONDS
            if known is None or now - known.at >= fresh_for:
                read = await self._read(now)
                if read.identity is None and known is not None and known.identity is not None:
                    # NB: keys that could not be read again are not gone: keep rendering with the last ones
                    # (dropping them would change every oidc cluster's config.hcl) and try again soon
                    read = _Known(known.identity, read.error, now - REFRESH_SECONDS + RETRY_SECONDS)
                known = self._known = read
        if known.identity is None:
            raise IdentityUnavailable(known.error)
        return known.identity

    async def _read(self, now: float) -> _Known:
        try:
            issuer = await discover_issuer(self.kube)
            pems = jwks_to_pems(issuer.jwks)
        except (IssuerDiscoveryError, JwkError) as exc:
            return _Known(None, f"the ServiceAccount issuer cannot be read from the API server: {exc}", now)
        identity = OperatorIdentity(
            issuer=issuer.issuer, pubkeys_pem=pems, operator_service_account=self.service_account
        )
        return _Known(identity, "", now)
