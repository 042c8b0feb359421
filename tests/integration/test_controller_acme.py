"""ACME on the real control plane: no certificate volume, the ``<name>-acme`` Service, and the preflight's
verdicts as conditions (controller/acme.py), with the operator as its ServiceAccount (deploy/ RBAC):

- the Gateway API not served → ``TLSReady=False/GatewayAPIMissing`` (marked ``before_gateway_api``: the
  session runs it before any test, so before any test installs the Gateway API CRDs, whatever the order or
  subset of tests selected; deleting CRDs instead proved unreliable: their finalizer can stall for minutes);
- with the CRDs (sigs.k8s.io/gateway-api v1.4.1 from the Go module cache, as test_render_dry_run): no
  passthrough, no Gateway, a Gateway without a TLS Passthrough listener → each
  ``ACMEGatewayNotConfiguredForPassthrough`` with its own message; the StatefulSet is applied throughout;
  fixing the Gateway converges (``TLSReady=Unknown/ACME``, ``Degraded=False``);
- DNS (initialized, 3 replicas, ``acmeCARoot``): the default domain ``<name>-acme.<ns>.svc`` does not resolve
  on this host (the operator's real resolver) → ``ACMEDomainNotResolvable`` and the StatefulSet stays at one
  replica; a domain that resolves (``localhost``) lets it grow to three.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from openbao_operator import kube
from openbao_operator.controller import kinds
from tests.integration.kubehelp import KubeClients, eventually
from tests.integration.operatorhelp import cluster_manifest, condition, crd, get_or_none, running_operator
from tests.integration.test_render_dry_run import crds
from tests.peers.controlplane import ControlPlane

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240), pytest.mark.usefixtures("crd")]
__all__ = ["crd", "crds"]

EVENT = kube.resource_type("events.k8s.io/v1", "Event")
ACME_TLS = {"enabled": True, "mode": "ACME", "acme": {"directoryURL": "https://ca.invalid/acme/directory"}}


def _acme_cluster(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return cluster_manifest(name, namespace, replicas=1, version="2.7.2", tls=ACME_TLS, **spec)


def _gateway_spec(**extra: Any) -> dict[str, Any]:
    return {"enabled": True, "gatewayRef": {"name": "edge"}, "hostname": "bao.example.com", **extra}


async def _poke(client: kube.KubeClient, name: str, namespace: str, value: str) -> None:
    await client.merge_patch(
        kinds.CLUSTER, name, {"metadata": {"annotations": {"test/poke": value}}}, namespace=namespace
    )


async def _tls_reason(client: kube.KubeClient, name: str, namespace: str, reason: str) -> dict[str, Any] | None:
    obj = await get_or_none(client, kinds.CLUSTER, name, namespace)
    return obj if condition(obj, "TLSReady").get("reason") == reason else None


GATEWAY_API = "gateway.networking.k8s.io/v1"


def _served(control_plane: ControlPlane, group_version: str) -> bool:
    try:
        control_plane.get_json(f"/apis/{group_version}")
    except Exception:
        return False
    return True


@pytest.mark.before_gateway_api
async def test_acme_renders_no_certificate_volume_and_reports_a_missing_gateway_api(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    assert not _served(control_plane, GATEWAY_API), (
        "the Gateway API CRDs are already installed: this test must run first (marker before_gateway_api, "
        "tests/integration/conftest.py)"
    )
    client = kube_clients(field_manager="test-user")
    async with running_operator(control_plane, namespace):
        await client.apply(_acme_cluster("acme", namespace, gateway=_gateway_spec(tlsPassthrough=True)))
        got = await eventually(
            lambda: _tls_reason(client, "acme", namespace, "GatewayAPIMissing"), what="GatewayAPIMissing", within=30
        )
        assert "install its CRDs" in condition(got, "TLSReady")["message"]
        assert condition(got, "Degraded")["reason"] == "GatewayAPIMissing"
        sts = await eventually(
            lambda: get_or_none(client, kinds.STATEFULSET, "acme", namespace), what="StatefulSet", within=20
        )
        pod = sts["spec"]["template"]["spec"]
        assert "tls" not in {v["name"] for v in pod["volumes"]}
        assert all("/etc/bao/tls" not in m["mountPath"] for m in pod["containers"][0]["volumeMounts"])
        assert await get_or_none(client, kinds.SECRET, "acme-tls-server", namespace) is None
        service = await client.get(kinds.SERVICE, "acme-acme", namespace=namespace)
        assert service["spec"]["publishNotReadyAddresses"] is True
        config = (await client.get(kinds.CONFIGMAP, "acme-config", namespace=namespace))["data"]["config.hcl"]
        assert "tls_cert_file" not in config
        assert "tls_acme_ca_directory" in config

        async def warned() -> bool:
            events = (await client.list(EVENT, namespace=namespace)).items
            return any(e.get("reason") == "GatewayAPIMissing" and e.get("type") == "Warning" for e in events)

        await eventually(warned, what="a Warning Event", within=10)


async def test_acme_gateway_must_pass_tls_through_and_fixing_it_converges(
    crds: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    control_plane = crds
    client = kube_clients(field_manager="test-user")
    gateway: dict[str, Any] = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "edge", "namespace": namespace},
        "spec": {
            "gatewayClassName": "example",
            "listeners": [
                {
                    "name": "https",
                    "protocol": "HTTPS",
                    "port": 443,
                    "tls": {"mode": "Terminate", "certificateRefs": [{"name": "edge-cert"}]},
                }
            ],
        },
    }
    async with running_operator(control_plane, namespace):
        # (1) an HTTPRoute would terminate TLS at the Gateway
        await client.apply(_acme_cluster("acme", namespace, gateway=_gateway_spec()))
        got = await eventually(
            lambda: _tls_reason(client, "acme", namespace, "ACMEGatewayNotConfiguredForPassthrough"),
            what="passthrough required",
            within=30,
        )
        assert "tlsPassthrough must be true" in condition(got, "TLSReady")["message"]
        assert condition(got, "Degraded")["reason"] == "ACMEGatewayNotConfiguredForPassthrough"
        # the StatefulSet is not held for Gateway problems (see controller/acme.py)
        await eventually(
            lambda: get_or_none(client, kinds.STATEFULSET, "acme", namespace), what="StatefulSet", within=20
        )

        # (2) passthrough, but the Gateway does not exist
        await client.apply(_acme_cluster("acme", namespace, gateway=_gateway_spec(tlsPassthrough=True)))

        async def message_has(text: str) -> dict[str, Any] | None:
            obj = await get_or_none(client, kinds.CLUSTER, "acme", namespace)
            return obj if text in condition(obj, "TLSReady").get("message", "") else None

        await eventually(lambda: message_has("does not exist"), what="Gateway missing", within=30)

        # (3) the Gateway terminates TLS
        await client.create(gateway)
        await _poke(client, "acme", namespace, "terminating")
        got = await eventually(
            lambda: message_has("(https: HTTPS/Terminate)"), what="no passthrough listener", within=30
        )
        assert condition(got, "TLSReady")["reason"] == "ACMEGatewayNotConfiguredForPassthrough"
        assert await get_or_none(client, kinds.TLSROUTE, "acme-tlsroute", namespace) is not None

        # (4) fixed: a TLS Passthrough listener
        gateway["spec"]["listeners"].append(
            {"name": "tls", "protocol": "TLS", "port": 8443, "tls": {"mode": "Passthrough"}}
        )
        await client.apply(gateway)
        await _poke(client, "acme", namespace, "fixed")
        got = await eventually(lambda: _tls_reason(client, "acme", namespace, "ACME"), what="converged", within=30)
        assert condition(got, "TLSReady")["status"] == "Unknown"
        assert condition(got, "Degraded")["status"] == "False"


async def test_acme_domain_that_does_not_resolve_holds_the_statefulset(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    client = kube_clients(field_manager="test-user")
    spec = {"configuration": {"acmeCARoot": "/etc/bao/acme/ca.pem"}}
    async with running_operator(control_plane, namespace):
        doc = _acme_cluster("dns", namespace, **spec)
        doc["spec"]["replicas"] = 3
        await client.apply(doc)
        # not initialized: no DNS check; one replica (bootstrap)
        sts = await eventually(
            lambda: get_or_none(client, kinds.STATEFULSET, "dns", namespace), what="StatefulSet", within=30
        )
        assert sts["spec"]["replicas"] == 1

        # initialized (as OpenBao's sys/init would have made it; sticky in status). NB: a pass that read the
        # cluster before this patch may still write status without it, so the patch is repeated until it holds.
        async def unresolvable() -> dict[str, Any] | None:
            obj = await client.get(kinds.CLUSTER, "dns", namespace=namespace)
            if not (obj.get("status") or {}).get("initialized"):
                patch = {"status": {"initialized": True}}
                await client.merge_patch(kinds.CLUSTER, "dns", patch, namespace=namespace, status=True)
                await _poke(client, "dns", namespace, str(time.monotonic()))
                return None
            return obj if condition(obj, "TLSReady").get("reason") == "ACMEDomainNotResolvable" else None

        got = await eventually(unresolvable, what="initialized and unresolvable", within=40, interval=1.0)
        assert f"dns-acme.{namespace}.svc" in condition(got, "TLSReady")["message"]
        assert condition(got, "Degraded")["reason"] == "ACMEDomainNotResolvable"
        sts = await client.get(kinds.STATEFULSET, "dns", namespace=namespace)
        assert sts["spec"]["replicas"] == 1, "held: new pods could not obtain a certificate"

        # fixed: a domain that resolves
        doc["spec"]["tls"] = {**ACME_TLS, "acme": {**ACME_TLS["acme"], "domains": ["localhost"]}}  # type: ignore[dict-item]
        await client.apply(doc)

        async def grown() -> dict[str, Any] | None:
            live = await get_or_none(client, kinds.STATEFULSET, "dns", namespace)
            return live if live is not None and live["spec"]["replicas"] == 3 else None

        await eventually(grown, what="the StatefulSet grows to 3", within=30)
        got = await eventually(lambda: _tls_reason(client, "dns", namespace, "ACME"), what="converged", within=30)
        assert condition(got, "TLSReady")["status"] == "Unknown"
