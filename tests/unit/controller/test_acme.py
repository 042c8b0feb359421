"""ACME preflight: each way the path to the pods is wrong gives its own reason, a remedy, and a decision on
the StatefulSet; checks run only when they matter (injected Gateway reader and resolver, no network)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from openbao_operator.api import OpenBaoCluster, parse_cluster
from openbao_operator.controller import acme
from tests.unit.render.config_cases import manifest

ACME_TLS = {"enabled": True, "mode": "ACME", "acme": {"directoryURL": "https://ca.example/dir"}}


def _cluster(**spec: Any) -> OpenBaoCluster:
    return parse_cluster(manifest(name="bao", namespace="ns", **{"tls": ACME_TLS, **spec}))


def _gateway_spec(**extra: Any) -> dict[str, Any]:
    return {"enabled": True, "gatewayRef": {"name": "gw"}, "hostname": "bao.example.com", **extra}


def _gw(*listeners: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "spec": {"listeners": list(listeners)}}


PASSTHROUGH = {"name": "tls", "protocol": "TLS", "port": 443, "tls": {"mode": "Passthrough"}}
TERMINATE = {"name": "https", "protocol": "HTTPS", "port": 443, "tls": {"mode": "Terminate"}}


class Reader:
    """A Gateway reader that records what it was asked and answers from a table (or raises)."""

    def __init__(self, answer: Mapping[str, Any] | Exception | None) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str]] = []

    async def __call__(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        self.asked.append((namespace, name))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class Resolver:
    def __init__(self, resolvable: set[str], *, hang: bool = False) -> None:
        self.resolvable, self.hang = resolvable, hang
        self.asked: list[str] = []

    async def __call__(self, host: str) -> bool:
        self.asked.append(host)
        if self.hang:
            await asyncio.sleep(3600)
        return host in self.resolvable


def _run(
    cluster: OpenBaoCluster, reader: Reader, resolver: Resolver, *, initialized: bool = True
) -> acme.AcmeVerdict | None:
    return asyncio.run(
        acme.acme_preflight(
            cluster,
            namespace="ns",
            initialized=initialized,
            read_gateway=reader,
            resolve=resolver,
            gateway_missing_retry=1200.0,
        )
    )


def test_not_acme_checks_nothing() -> None:
    reader, resolver = Reader(None), Resolver(set())
    cluster = parse_cluster(manifest(name="bao", namespace="ns", gateway=_gateway_spec()))
    assert _run(cluster, reader, resolver) is None
    assert reader.asked == []
    assert resolver.asked == []


def test_gateway_without_passthrough_is_refused_before_reading_it() -> None:
    reader = Reader(_gw(PASSTHROUGH))
    verdict = _run(_cluster(gateway=_gateway_spec()), reader, Resolver(set()))
    assert verdict is not None
    assert verdict.reason == "ACMEGatewayNotConfiguredForPassthrough"
    assert "spec.gateway.tlsPassthrough must be true" in verdict.message
    assert not verdict.hold_workload
    assert reader.asked == []


def test_passthrough_listener_passes_and_the_default_namespace_is_the_clusters() -> None:
    reader = Reader(_gw(TERMINATE, PASSTHROUGH))
    assert _run(_cluster(gateway=_gateway_spec(tlsPassthrough=True)), reader, Resolver(set())) is None
    assert reader.asked == [("ns", "gw")]


@pytest.mark.parametrize(
    ("listeners", "listener_name", "expected"),
    [
        ((TERMINATE,), None, "no listener with protocol TLS and tls.mode Passthrough (https: HTTPS/Terminate)"),
        (({"name": "tls", "protocol": "TLS"},), None, "(tls: TLS/Terminate)"),  # Gateway API default mode
        ((PASSTHROUGH,), "other", "has no listener named 'other'"),
        ((PASSTHROUGH, {**TERMINATE, "name": "web"}), "web", "(web: HTTPS/Terminate)"),
        ((), None, "(no listeners)"),
    ],
)
def test_gateway_listeners_that_do_not_pass_tls_through(
    listeners: tuple[dict[str, Any], ...], listener_name: str | None, expected: str
) -> None:
    spec = _gateway_spec(tlsPassthrough=True, gatewayRef={"name": "gw", "namespace": "edge"})
    if listener_name:
        spec["listenerName"] = listener_name
    reader = Reader(_gw(*listeners))
    verdict = _run(_cluster(gateway=spec), reader, Resolver(set()))
    assert verdict is not None
    assert verdict.reason == "ACMEGatewayNotConfiguredForPassthrough"
    assert expected in verdict.message
    assert verdict.message.startswith("Gateway edge/gw ")
    assert not verdict.hold_workload
    assert reader.asked == [("edge", "gw")]


def test_named_passthrough_listener_passes() -> None:
    spec = _gateway_spec(tlsPassthrough=True, listenerName="tls")
    assert _run(_cluster(gateway=spec), Reader(_gw(TERMINATE, PASSTHROUGH)), Resolver(set())) is None


@pytest.mark.parametrize(
    ("answer", "reason", "text", "retry"),
    [
        (None, "ACMEGatewayNotConfiguredForPassthrough", "does not exist", acme.GATEWAY_RETRY),
        (acme.GatewayApiMissing("404 page not found"), "GatewayAPIMissing", "install its CRDs", 1200.0),
        (
            acme.GatewayUnreadable("403 Forbidden"),
            "Forbidden",
            "grant the operator get on gateways",
            acme.GATEWAY_RETRY,
        ),
    ],
)
def test_gateway_that_cannot_be_found_or_read(
    answer: Mapping[str, Any] | Exception | None, reason: str, text: str, retry: float
) -> None:
    verdict = _run(_cluster(gateway=_gateway_spec(tlsPassthrough=True)), Reader(answer), Resolver(set()))
    assert verdict is not None
    assert (verdict.reason, verdict.retry_after, verdict.hold_workload) == (reason, retry, False)
    assert text in verdict.message


CA_ROOT = {"acmeCARoot": "/etc/bao/acme/ca.pem"}


@pytest.mark.parametrize(
    ("initialized", "replicas", "configuration"),
    [(False, 3, CA_ROOT), (True, 1, CA_ROOT), (True, 3, None)],
    ids=["not-initialized", "one-replica", "public-ca"],
)
def test_dns_is_checked_only_when_it_matters(
    initialized: bool, replicas: int, configuration: dict[str, Any] | None
) -> None:
    spec: dict[str, Any] = {"replicas": replicas}
    if configuration:
        spec["configuration"] = configuration
    resolver = Resolver(set())
    assert _run(_cluster(**spec), Reader(None), resolver, initialized=initialized) is None
    assert resolver.asked == []


def test_unresolvable_domain_holds_the_statefulset_and_names_the_domain() -> None:
    tls = {**ACME_TLS, "acme": {**ACME_TLS["acme"], "domains": ["bao.example.com", "bao-acme.ns.svc"]}}  # type: ignore[dict-item]
    resolver = Resolver({"bao-acme.ns.svc"})
    verdict = _run(_cluster(replicas=3, configuration=CA_ROOT, tls=tls), Reader(None), resolver)
    assert verdict is not None
    assert verdict.reason == "ACMEDomainNotResolvable"
    assert verdict.hold_workload
    assert "bao.example.com do not resolve" in verdict.message
    assert sorted(resolver.asked) == ["bao-acme.ns.svc", "bao.example.com"]


def test_default_domain_resolving_passes() -> None:
    resolver = Resolver({"bao-acme.ns.svc"})
    assert _run(_cluster(replicas=3, configuration=CA_ROOT), Reader(None), resolver) is None
    assert resolver.asked == ["bao-acme.ns.svc"]


def test_a_hanging_resolver_counts_as_unresolvable_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(acme, "DNS_TIMEOUT", 0.05)
    verdict = _run(_cluster(replicas=3, configuration=CA_ROOT), Reader(None), Resolver(set(), hang=True))
    assert verdict is not None
    assert verdict.reason == "ACMEDomainNotResolvable"


def test_system_resolver_resolves_localhost_and_not_an_invalid_name() -> None:
    assert asyncio.run(acme.system_resolver("localhost"))
    assert not asyncio.run(acme.system_resolver("no-such-host.invalid"))
