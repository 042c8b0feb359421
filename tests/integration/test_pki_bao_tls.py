"""Real peer check of the pki material: `bao server` serves TLS with the operator-issued certificate, a
client that trusts only the issued bundle verifies it under every pod DNS name, foreign names fail, and
after a reissue the same process serves the new certificate without a restart: after a SIGHUP, and (what
the operator renders for OpenBao >= 2.7) with ``tls_auto_reload`` and no signal at all."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import ssl
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from openbao_operator.api import OpenBaoCluster, parse_cluster
from openbao_operator.pki import TlsAction, TlsPlan, plan_operator_managed_tls, pod_dns_names
from tests.integration.conftest import peer_unavailable
from tests.peers import pins
from tests.peers.bao import BaoServer, raft_static_tls_config, write_static_seal_key
from tests.peers.procs import free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _cluster(replicas: int, *, extra_sans: tuple[str, ...] = ()) -> OpenBaoCluster:
    tls: dict[str, object] = {"enabled": True}
    if extra_sans:
        tls["extraSANs"] = list(extra_sans)
    return parse_cluster(
        {
            "apiVersion": "openbao.org/v1alpha1",
            "kind": "OpenBaoCluster",
            "metadata": {"name": "bao", "namespace": "ns"},
            "spec": {"version": "2.7.2", "replicas": replicas, "tls": tls, "storage": {"size": "1Gi"}},
        }
    )


def _write_tls(directory: Path, data: Mapping[str, bytes]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("tls.crt", "tls.key", "ca.crt"):
        tmp = directory / f".{name}.tmp"
        tmp.write_bytes(data[name])
        tmp.chmod(0o600)
        tmp.replace(directory / name)  # atomic, like the kubelet's symlink swap


def _served_fingerprint(port: int, *, cafile: Path, hostname: str) -> str:
    ctx = ssl.create_default_context(cafile=str(cafile))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=hostname) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


AUTO_RELOAD = 'tls_auto_reload = true\n  tls_auto_reload_interval = "5s"\n'
"""The listener options the operator renders for 2.7 (config renderer), with the shortest interval bao allows."""


@pytest.fixture
def bao_with_issued_tls(tmp_path: Path, peer_logs: Path) -> Any:
    yield from _bao_with_issued_tls(tmp_path, peer_logs, listener_extra="")


@pytest.fixture
def bao_with_auto_reload(tmp_path: Path, peer_logs: Path) -> Any:
    yield from _bao_with_issued_tls(tmp_path, peer_logs, listener_extra=AUTO_RELOAD)


def _bao_with_issued_tls(tmp_path: Path, peer_logs: Path, *, listener_extra: str) -> Any:
    try:
        pins.bao_binary()
    except pins.PeerMissingError as exc:
        peer_unavailable(str(exc))
    now = datetime.now(UTC)
    plan = plan_operator_managed_tls(
        _cluster(3), namespace="ns", cluster_domain="cluster.local", now=now, ca_secret=None, server_secret=None
    )
    tls_dir = tmp_path / "tls"
    _write_tls(tls_dir, plan.server_secret)
    seal_key = write_static_seal_key(tmp_path / "unseal" / "key")
    data = tmp_path / "data"
    data.mkdir()
    api_port, cluster_port = free_port(), free_port()
    config = tmp_path / "config.hcl"
    config.write_text(
        raft_static_tls_config(
            data_dir=str(data),
            tls_cert=str(tls_dir / "tls.crt"),
            tls_key=str(tls_dir / "tls.key"),
            seal_key=str(seal_key),
            api_port=api_port,
            cluster_port=cluster_port,
            listener_extra=listener_extra,
        )
    )
    server = BaoServer(
        name="bao-pki",
        config=config,
        api_port=api_port,
        cacert=tls_dir / "ca.crt",
        workdir=tmp_path,
        log=peer_logs / "bao-pki.log",
    )
    server.start()  # `bao status` over https://127.0.0.1 with BAO_CACERT=ca.crt: the IP SAN verifies
    try:
        yield server, plan, tls_dir, now
    finally:
        server.stop()


def test_bao_serves_the_issued_certificate_for_every_pod_name(bao_with_issued_tls: Any) -> None:
    server, plan, tls_dir, _ = bao_with_issued_tls
    cafile = tls_dir / "ca.crt"
    cluster = _cluster(3)
    names = [
        *pod_dns_names(cluster, namespace="ns"),
        *pod_dns_names(cluster, namespace="ns", cluster_domain="cluster.local"),
        "openbao-cluster-bao.local",  # what raft joins verify
        "bao-active.ns.svc",
        "bao-9.bao.ns.svc",  # not a pod today, covered by the wildcard
    ]
    for hostname in names:
        assert _served_fingerprint(server.api_port, cafile=cafile, hostname=hostname) == plan.leaf_fingerprint


@pytest.mark.parametrize("hostname", ["evil.example.com", "other.ns.svc", "bao-0.bao.other.svc"])
def test_foreign_names_fail_the_handshake(bao_with_issued_tls: Any, hostname: str) -> None:
    server, _, tls_dir, _ = bao_with_issued_tls
    with pytest.raises(ssl.SSLCertVerificationError):
        _served_fingerprint(server.api_port, cafile=tls_dir / "ca.crt", hostname=hostname)


def _reissue(plan: TlsPlan, now: datetime) -> TlsPlan:
    renewed = plan_operator_managed_tls(
        # a name the certificate does not carry (a scale-up is not one: the pods' wildcard covers new pods)
        _cluster(5, extra_sans=("openbao.example.com",)),
        namespace="ns",
        cluster_domain="cluster.local",
        now=now + timedelta(seconds=5),
        ca_secret=plan.ca_secret,
        server_secret=plan.server_secret,
    )
    assert renewed.actions == (TlsAction.ISSUE_SERVER_CERT,)
    assert not renewed.write_ca_secret
    return renewed


def _wait_served(server: BaoServer, cafile: Path, renewed: TlsPlan, *, what: str, timeout: float) -> float:
    started = time.monotonic()

    def served_new() -> bool | None:
        fp = _served_fingerprint(server.api_port, cafile=cafile, hostname="bao-4.bao.ns.svc")
        return True if fp == renewed.leaf_fingerprint else None

    wait_until(served_new, what=what, timeout=timeout)
    return time.monotonic() - started


def test_reissued_certificate_is_served_after_sighup_without_restart(bao_with_issued_tls: Any) -> None:
    server, plan, tls_dir, now = bao_with_issued_tls
    assert server.proc is not None
    pid = server.proc.pid
    renewed = _reissue(plan, now)
    _write_tls(tls_dir, renewed.server_secret)
    os.kill(pid, signal.SIGHUP)
    _wait_served(server, tls_dir / "ca.crt", renewed, what="the reissued certificate after SIGHUP", timeout=20)
    assert server.proc.pid == pid
    assert server.proc.alive()


def test_reissued_certificate_is_served_by_tls_auto_reload_without_signal(bao_with_auto_reload: Any) -> None:
    """bao 2.7.2 really reloads: no signal is sent, the same process serves the new certificate within
    a few reload intervals (evidence that rendering ``tls_auto_reload`` instead of a cert-hash rollout works)."""
    server, plan, tls_dir, now = bao_with_auto_reload
    assert server.proc is not None
    pid = server.proc.pid
    renewed = _reissue(plan, now)
    _write_tls(tls_dir, renewed.server_secret)
    took = _wait_served(
        server, tls_dir / "ca.crt", renewed, what="the reissued certificate through tls_auto_reload", timeout=30
    )
    print(f"\ntls_auto_reload (interval 5s) served the new certificate after {took:.1f} s")
    log = server.log.read_text().rsplit("=== start bao-pki", 1)[-1]  # this run only: the log file is shared
    assert "tls auto-reload: reloaded TLS certificate" in log
    assert "reload triggered" not in log  # the SIGHUP path was not taken
    assert server.proc.pid == pid
    assert server.proc.alive()
