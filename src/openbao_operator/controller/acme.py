"""ACME preflight: what OpenBao's own ACME client needs from outside its pods, checked before relying on it.

Why: with ``spec.tls.mode: ACME`` the operator mounts no certificate; each pod obtains one itself through
TLS-ALPN-01 (HTTP-01 is disabled in config.hcl). That fails silently, far from the cause, when the path to
the pods is wrong. The reference operator checks two such paths before applying anything; here each failure
becomes ``TLSReady=False`` with its reason and a remedy, a Warning Event, ``Degraded`` with the same reason:

- Gateway (``spec.gateway.enabled``): the Gateway must hand TLS through to OpenBao, or the CA's TLS-ALPN
  handshake ends at the Gateway. So ``tlsPassthrough`` must be true (a TLSRoute is rendered), and the
  referenced Gateway must have a listener (``listenerName`` when given) with protocol TLS and
  ``tls.mode: Passthrough``. No Gateway API → ``GatewayAPIMissing``; otherwise
  ``ACMEGatewayNotConfiguredForPassthrough``. The StatefulSet is still applied: the pods, raft and the
  in-cluster ``<name>-acme`` path do not depend on the Gateway, and holding them back would fix nothing
  while blocking every other change (upgrades, scaling). The reference's "first error aborts" is not kept.
- DNS (only when initialized, replicas > 1 and ``configuration.acmeCARoot`` is set, as in the reference: a
  private CA that must reach every pod by its ACME domain): each domain must resolve (2 s each), else
  ``ACMEDomainNotResolvable`` and the StatefulSet is held. Here holding protects something: a pod replaced
  in a rollout, or added by a scale-up, would start without a way to obtain its certificate and never join,
  while the running pods keep theirs. Resolution is retried every minute (DNS is not watched).

The Gateway is read by name with a direct GET (it is not ours: not cached, not watched), polled like the
user's External TLS Secret. The resolver is injected (tests; the default is the system resolver).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.api.tls import EffectiveTlsMode
from openbao_operator.kube import Forbidden, KubeClient, NotFound

from .concurrent import all_of
from .kinds import GATEWAY

DNS_TIMEOUT = 2.0
"""Seconds per domain, as the reference."""
DNS_RETRY = 60.0
GATEWAY_RETRY = 120.0
"""Gateways are not watched: look again this often (as External TLS Secrets)."""

Resolver = Callable[[str], Awaitable[bool]]
"""True when a host name resolves to at least one address."""


class GatewayApiMissing(Exception):  # noqa: N818 - named by meaning
    """The Gateway API (its CRDs) is not served."""


class GatewayUnreadable(Exception):  # noqa: N818 - named by meaning
    """The operator may not read the Gateway (RBAC)."""


GatewayReader = Callable[[str, str], Awaitable[Mapping[str, Any] | None]]
"""(namespace, name) -> the Gateway, None when it does not exist; raises GatewayApiMissing/GatewayUnreadable."""


@dataclass(frozen=True, kw_only=True)
class AcmeVerdict:
    """A failed preflight: the reason (a TLSReady/Degraded reason), a message with the remedy, what to hold."""

    reason: str
    message: str
    hold_workload: bool
    retry_after: float


async def system_resolver(host: str) -> bool:
    """The operator's own resolver (in a cluster: the cluster DNS, as the pods and the CA see it)."""
    try:
        return bool(await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM))
    except OSError:
        return False


def gateway_reader(kube: KubeClient) -> GatewayReader:
    """Read a Gateway by name, translating the client's errors into what the preflight decides on."""

    async def read(namespace: str, name: str) -> Mapping[str, Any] | None:
        try:
            return await kube.get(GATEWAY, name, namespace=namespace)
        except NotFound as exc:
            if exc.api_missing:
                raise GatewayApiMissing(exc.message) from exc
            return None
        except Forbidden as exc:
            raise GatewayUnreadable(str(exc)) from exc

    return read


async def acme_preflight(
    cluster: OpenBaoCluster,
    *,
    namespace: str,
    initialized: bool,
    read_gateway: GatewayReader,
    resolve: Resolver,
    gateway_missing_retry: float,
) -> AcmeVerdict | None:
    """None when ACME is not in use or every check passes; else the first failure (Gateway before DNS)."""
    if cluster.spec.tls.effective_mode is not EffectiveTlsMode.ACME:
        return None
    verdict = await _gateway(cluster, namespace=namespace, read_gateway=read_gateway, retry=gateway_missing_retry)
    if verdict is not None:
        return verdict
    return await _dns(cluster, namespace=namespace, initialized=initialized, resolve=resolve)


async def _gateway(
    cluster: OpenBaoCluster, *, namespace: str, read_gateway: GatewayReader, retry: float
) -> AcmeVerdict | None:
    gateway = cluster.spec.gateway
    if gateway is None or not gateway.enabled or gateway.gateway_ref is None:
        return None
    if not gateway.tls_passthrough:
        return _not_passthrough(
            "spec.gateway.tlsPassthrough must be true with ACME: OpenBao answers the CA's TLS-ALPN-01 "
            "challenge itself, so the Gateway must pass TLS through (a TLSRoute), not terminate it"
        )
    gw_ns, gw_name = gateway.gateway_ref.namespace or namespace, gateway.gateway_ref.name
    where = f"Gateway {gw_ns}/{gw_name}"
    try:
        live = await read_gateway(gw_ns, gw_name)
    except GatewayApiMissing as exc:
        message = f"{where}: the Gateway API is not served ({exc}); install its CRDs or disable spec.gateway"
        return _not_passthrough(message, reason="GatewayAPIMissing", retry_after=retry)
    except GatewayUnreadable as exc:
        message = f"{where} cannot be read to check its listeners ({exc}); grant the operator get on gateways"
        return _not_passthrough(message, reason="Forbidden")
    if live is None:
        return _not_passthrough(
            f"{where} (spec.gateway.gatewayRef) does not exist; create it with a TLS listener in Passthrough mode"
        )
    listeners = list((live.get("spec") or {}).get("listeners") or [])
    wanted = gateway.listener_name
    candidates = [lst for lst in listeners if wanted is None or lst.get("name") == wanted]
    if any(_passthrough(lst) for lst in candidates):
        return None
    if wanted is not None and not candidates:
        problem = f"has no listener named {wanted!r} (spec.gateway.listenerName)"
    else:
        shown = ", ".join(
            f"{lst.get('name')}: {lst.get('protocol')}/{(lst.get('tls') or {}).get('mode', 'Terminate')}"
            for lst in candidates
        )
        problem = f"has no listener with protocol TLS and tls.mode Passthrough ({shown or 'no listeners'})"
    return _not_passthrough(f"{where} {problem}; ACME needs one: add it or point spec.gateway.listenerName at it")


def _not_passthrough(
    message: str, *, reason: str = "ACMEGatewayNotConfiguredForPassthrough", retry_after: float = GATEWAY_RETRY
) -> AcmeVerdict:
    """A Gateway problem: reported, never a reason to hold the StatefulSet (see the module docstring)."""
    return AcmeVerdict(reason=reason, message=message, hold_workload=False, retry_after=retry_after)


def _passthrough(listener: Mapping[str, Any]) -> bool:
    # Gateway API: tls.mode defaults to Terminate
    return listener.get("protocol") == "TLS" and (listener.get("tls") or {}).get("mode", "Terminate") == "Passthrough"


async def _dns(cluster: OpenBaoCluster, *, namespace: str, initialized: bool, resolve: Resolver) -> AcmeVerdict | None:
    configuration = cluster.spec.configuration
    ca_root = configuration.acme_ca_root if configuration is not None else None
    if not (initialized and cluster.spec.replicas > 1 and ca_root):
        return None
    domains = names.acme_domains(cluster, namespace=namespace)

    async def resolves(host: str) -> bool:
        try:
            return await asyncio.wait_for(resolve(host), DNS_TIMEOUT)
        except TimeoutError:
            return False

    results = await all_of(*(resolves(d) for d in domains))
    failed = [d for d, ok in zip(domains, results, strict=True) if not ok]
    if not failed:
        return None
    return AcmeVerdict(
        reason="ACMEDomainNotResolvable",
        message=f"the ACME domain(s) {', '.join(failed)} do not resolve within {DNS_TIMEOUT:g} s; the private CA "
        "(configuration.acmeCARoot) cannot reach new pods to issue their certificates, so the StatefulSet is "
        "not changed until they resolve: fix DNS or spec.tls.acme.domains",
        hold_workload=True,
        retry_after=DNS_RETRY,
    )
