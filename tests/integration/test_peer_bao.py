"""Self-test of the bao peer: the harness boots a real OpenBao the way the operator's pods will.

raft storage + TLS listener + static seal, init with recovery shares, auto-unseal after a crash, both
with plain temp paths and with the pod-like file layout (/etc/bao/..., /bao/data via bind mounts).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.peers.bao import BaoServer, pod_layout_available
from tests.skip_policy import require

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _boot_init_restart(server: BaoServer) -> None:
    server.start()
    status = server.status()
    assert status is not None
    assert status["initialized"] is False
    assert status["type"] == "static"
    assert status["storage_type"] == "raft"

    init = server.init(recovery_shares=1, recovery_threshold=1)
    assert init["root_token"]
    assert len(init["recovery_keys_b64"]) == 1
    assert init["unseal_keys_b64"] == []
    server.wait_unsealed()

    server.kill()  # a crash, not a graceful shutdown
    server.start()
    after = server.wait_unsealed()
    assert after["initialized"] is True
    assert after["sealed"] is False

    token = str(init["root_token"])
    server.cli("secrets", "enable", "-path=kv", "kv-v2", token=token)
    server.cli("kv", "put", "kv/probe", "answer=42", token=token)
    got = server.cli("kv", "get", "-field=answer", "kv/probe", token=token)
    assert got.stdout.strip() == "42"


def test_bao_raft_tls_static_seal_unseals_after_restart(bao_factory: Callable[..., BaoServer]) -> None:
    _boot_init_restart(bao_factory(name="bao-plain"))


def test_bao_boots_with_pod_paths(bao_factory: Callable[..., BaoServer]) -> None:
    require(pod_layout_available(), "the pod-like file layout needs root and `unshare -m`")
    server = bao_factory(name="bao-pod", pod_layout=True)
    assert str(server.config) == "/etc/bao/config/config.hcl"
    _boot_init_restart(server)
