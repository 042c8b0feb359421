"""Which names the server certificate must carry, computed from the spec alone.

Why: every way a client or a peer reaches a pod must verify against the one certificate all pods
share. Pods join and forward to each other by pod DNS name (`api_addr` / `cluster_addr`), raft joins
verify `leader_tls_servername`, probes and in-pod tools use localhost/127.0.0.1, users reach the
Services and the ingress/gateway hostnames. The list is deterministic (insertion order, no duplicates)
so the decision can compare it with a certificate's SANs as sets and issue reproducible certificates.

Deliberately not included, unlike the reference operator:
`*.<namespace>.svc` would make the certificate valid for every Service of the namespace.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final

from openbao_operator.api import OpenBaoCluster, names

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LOOPBACK_DNS: Final = "localhost"
LOOPBACK_IPS: Final[tuple[IpAddress, ...]] = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))

_DNS_NAME = re.compile(r"^(?:\*\.)?[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)*$")


@dataclass(frozen=True)
class ServerNames:
    """Subject alternative names: DNS names (wildcards allowed) and IP addresses, in a stable order."""

    dns: tuple[str, ...]
    ips: tuple[IpAddress, ...]

    def verifiable_dns(self) -> tuple[str, ...]:
        """The DNS names a client can ask for (wildcards are patterns, not names)."""
        return tuple(n for n in self.dns if not n.startswith("*."))

    def missing_from(self, dns: frozenset[str], ips: frozenset[IpAddress]) -> tuple[str, ...]:
        """The names (as text) not present in a certificate's SAN sets, in this object's order."""
        return tuple(n for n in self.dns if n not in dns) + tuple(str(i) for i in self.ips if i not in ips)


@dataclass(frozen=True)
class InvalidSan:
    """An entry of spec.tls.extraSANs that is neither an IP address nor a DNS name (left out, reported)."""

    value: str
    index: int

    @property
    def message(self) -> str:
        return (
            f"spec.tls.extraSANs[{self.index}] {self.value!r} is neither an IP address nor a lower-case DNS name; "
            "it is left out of the certificate"
        )


def _dedupe(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _service_forms(service: str, namespace: str, cluster_domain: str) -> list[str]:
    svc = f"{service}.{namespace}.svc"
    return [service, f"{service}.{namespace}", svc, f"{svc}.{cluster_domain}"]


def pod_dns_names(cluster: OpenBaoCluster, *, namespace: str, cluster_domain: str | None = None) -> tuple[str, ...]:
    """`<name>-<i>.<name>.<ns>.svc[.<domain>]` for every ordinal (the headless Service is `<name>`)."""
    return tuple(
        names.pod_dns_name(cluster, ordinal=i, namespace=namespace, cluster_domain=cluster_domain)
        for i in range(cluster.spec.replicas)
    )


def _split_extra_sans(cluster: OpenBaoCluster) -> tuple[list[str], list[IpAddress], list[InvalidSan]]:
    dns: list[str] = []
    ips: list[IpAddress] = []
    invalid: list[InvalidSan] = []
    for index, raw in enumerate(cluster.spec.tls.extra_sans or ()):
        value = raw.strip()
        if not value:
            continue  # an empty entry names nothing (the API reports it in FieldsIgnored)
        try:
            ips.append(ipaddress.ip_address(value.strip("[]")))
            continue
        except ValueError:
            pass
        lowered = value.lower().rstrip(".")
        if len(lowered) <= 253 and _DNS_NAME.fullmatch(lowered):
            dns.append(lowered)
        else:
            invalid.append(InvalidSan(value=raw, index=index))
    return dns, ips, invalid


def _exposure_hostnames(cluster: OpenBaoCluster) -> list[str]:
    spec = cluster.spec
    hosts: list[str] = []
    if spec.ingress is not None and spec.ingress.enabled:
        hosts.append(spec.ingress.host)
    if spec.gateway is not None and spec.gateway.enabled:
        if spec.gateway.hostname:
            hosts.append(spec.gateway.hostname)
        if spec.gateway.backend_tls is not None and spec.gateway.backend_tls.hostname:
            hosts.append(spec.gateway.backend_tls.hostname)
    return hosts


def operator_managed_names(
    cluster: OpenBaoCluster, *, namespace: str, cluster_domain: str
) -> tuple[ServerNames, tuple[InvalidSan, ...]]:
    """Every name the operator-managed server certificate carries, and the extraSANs it had to leave out.

    The Services `<name>`, `<name>-active` and `<name>-public` are always included, whether or not they
    exist yet: toggling spec.service, ingress or gateway then never forces a new certificate.
    """
    name = cluster.metadata.name
    extra_dns, extra_ips, invalid = _split_extra_sans(cluster)
    dns = [LOOPBACK_DNS, names.raft_tls_server_name(name)]
    # (1) the pods, explicitly and by wildcard (the wildcard also covers blue/green pod names)
    headless = names.headless_service_name(cluster)
    dns += [f"*.{headless}.{namespace}.svc", f"*.{headless}.{namespace}.svc.{cluster_domain}"]
    for short, full in zip(
        pod_dns_names(cluster, namespace=namespace),
        pod_dns_names(cluster, namespace=namespace, cluster_domain=cluster_domain),
        strict=True,
    ):
        dns += [short, full]
    # (2) the Services in every form a client may use
    for service in (headless, names.active_service_name(cluster), names.public_service_name(cluster)):
        dns += _service_forms(service, namespace, cluster_domain)
    # (3) how users reach it from outside, then what they asked for
    dns += _exposure_hostnames(cluster)
    dns += extra_dns
    ips = list(dict.fromkeys([*LOOPBACK_IPS, *extra_ips]))
    return ServerNames(dns=_dedupe(dns), ips=tuple(ips)), tuple(invalid)


def external_required_names(cluster: OpenBaoCluster, *, namespace: str) -> ServerNames:
    """What a user-provided certificate must cover for the cluster to work: each pod's DNS name (peers
    forward to `api_addr`) and the raft `leader_tls_servername` (joins verify it)."""
    dns = [*pod_dns_names(cluster, namespace=namespace), names.raft_tls_server_name(cluster.metadata.name)]
    return ServerNames(dns=_dedupe(dns), ips=())
