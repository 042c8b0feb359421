"""How the operator reaches a pod (controller/podview.target), through a real TLS handshake.

Bootstrap, step-down, peer removal, revocation and the rewrap check all reach pods through ``target``: the
pod's IP, and a name its certificate must carry. In ACME mode OpenBao's certificate carries only the ACME
domains, never ``<pod>.<headless>.<ns>.svc``; the handshake below is made against a listener serving such a
certificate (a test CA stands in for the ACME CA), so a target that asks for the pod's DNS name fails there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from openbao_operator.api import parse_cluster
from openbao_operator.baoapi import BaoClient, BaoUnavailable, Target
from openbao_operator.controller import podview
from tests.peers.certs import TestCA
from tests.unit.render.config_cases import manifest

ACME = {"enabled": True, "mode": "ACME", "acme": {"directoryURL": "https://ca.example/acme/directory"}}
POD = {"metadata": {"name": "bao-1"}, "status": {"phase": "Running", "podIP": "127.0.0.1"}}


@asynccontextmanager
async def listener(cert: Path, key: Path) -> AsyncIterator[int]:
    """A TLS listener answering every request with ``sys/init``'s answer (initialized); yields its port."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            body = b'{"initialized": true}'
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()
        except (ssl.SSLError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def _cluster(**spec: Any) -> Any:
    return parse_cluster(manifest(name="bao", namespace="ns", replicas=3, **spec))


async def _ask(target: Target, port: int, ca_pem: str) -> bool:
    # NB: the listener's port stands in for 8200; the trust bundle for the roots the operator would trust
    moved = dataclasses.replace(target, base_url=f"https://127.0.0.1:{port}", ca_pem=ca_pem)
    return await BaoClient(moved).initialized()


def test_acme_pods_are_verified_by_the_acme_domain_their_certificate_carries(tmp_path: Path) -> None:
    ca = TestCA(directory=tmp_path)
    leaf = ca.issue(name="acme", common_name="bao-acme.ns.svc", dns_names=("bao-acme.ns.svc",), server=True)
    cluster = _cluster(tls=ACME)
    target = podview.target(cluster, POD, namespace="ns", ca_pem=None)
    assert target is not None
    assert target.server_name == "bao-acme.ns.svc"
    assert target.ca_pem is None, "no copy of an ACME CA: the operator's own roots"

    async def run() -> bool:
        async with listener(leaf.cert, leaf.key) as port:
            return await _ask(target, port, ca.cert_pem.decode())

    assert asyncio.run(run()) is True


def test_acme_domains_given_in_the_spec_name_the_pod_as_its_raft_peers_do(tmp_path: Path) -> None:
    domains = ["bao.example.com", "bao.ns.svc"]
    cluster = _cluster(tls={**ACME, "acme": {**ACME["acme"], "domains": domains}})  # type: ignore[dict-item]
    target = podview.target(cluster, POD, namespace="ns", ca_pem=None)
    assert target is not None
    assert target.server_name == "bao.ns.svc"


def test_operator_managed_pods_are_verified_by_their_pod_dns_name(tmp_path: Path) -> None:
    ca = TestCA(directory=tmp_path)
    name = "bao-1.bao.ns.svc"
    leaf = ca.issue(name="pod", common_name=name, dns_names=(name,), server=True)
    cluster = _cluster()
    target = podview.target(cluster, POD, namespace="ns", ca_pem=ca.cert_pem.decode())
    assert target is not None
    assert target.server_name == name

    async def run() -> bool:
        async with listener(leaf.cert, leaf.key) as port:
            return await _ask(target, port, ca.cert_pem.decode())

    assert asyncio.run(run()) is True


def test_a_name_the_certificate_does_not_carry_fails_the_handshake(tmp_path: Path) -> None:
    """The check the two tests above rely on: the handshake really verifies the name."""
    ca = TestCA(directory=tmp_path)
    leaf = ca.issue(name="acme", common_name="bao-acme.ns.svc", dns_names=("bao-acme.ns.svc",), server=True)
    target = podview.target(_cluster(), POD, namespace="ns", ca_pem=None)
    assert target is not None

    async def run() -> bool:
        async with listener(leaf.cert, leaf.key) as port:
            return await _ask(target, port, ca.cert_pem.decode())

    with pytest.raises(BaoUnavailable):
        asyncio.run(run())


def test_without_tls_pods_are_reached_over_plain_http() -> None:
    target = podview.target(_cluster(tls={"enabled": False}), POD, namespace="ns", ca_pem="ignored")
    assert target == Target(base_url="http://127.0.0.1:8200")
