"""Real peer check of the unseal-key decision: the keys and key ids `plan_unseal_key` hands out make a real
`bao server` auto-unseal; during a rotation (new current_key, old previous_key) it unseals and rewraps; after
the plan retires the old key, the new key alone unseals and the data is still there."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from openbao_operator.api import OpenBaoCluster, parse_cluster
from openbao_operator.seal import KeyRef, ObservedKeySecret, UnsealKeyPlan, UnsealKeyReason, plan_unseal_key
from tests.peers.bao import BaoServer
from tests.peers.procs import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def _cluster() -> OpenBaoCluster:
    return parse_cluster(
        {
            "apiVersion": "openbao.org/v1alpha1",
            "kind": "OpenBaoCluster",
            "metadata": {"name": "bao", "namespace": "ns"},
            "spec": {"version": "2.7.2", "tls": {"enabled": True}, "storage": {"size": "1Gi"}},
        }
    )


class KeyStore:
    """Plays the API server for key Secrets: create-only, AlreadyExists keeps the first; files for bao."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.secrets: dict[str, ObservedKeySecret] = {}

    def apply(self, plan: UnsealKeyPlan) -> None:
        if plan.create is not None:
            meta = plan.create.manifest["metadata"]
            created = ObservedKeySecret(
                name=meta["name"],
                data={k: base64.b64decode(v) for k, v in plan.create.manifest["data"].items()},
                annotations=dict(meta["annotations"]),
            )
            self.secrets.setdefault(created.name, created)
        for name, patch in plan.metadata_patches.items():
            old = self.secrets[name]
            annotations = {**old.annotations, **patch.get("annotations", {})}
            self.secrets[name] = ObservedKeySecret(name=name, data=old.data, annotations=annotations)

    def file(self, ref: KeyRef) -> Path:
        path = self.directory / ref.secret_name / "key"  # one Secret volume per key, as the pods mount them
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.secrets[ref.secret_name].data["key"])
        path.chmod(0o600)
        return path

    def seal_stanza(self, plan: UnsealKeyPlan) -> str:
        assert plan.current is not None
        lines = [
            f'  current_key_id = "{plan.current.key_id}"',
            f'  current_key    = "file://{self.file(plan.current)}"',
        ]
        if plan.previous is not None:
            lines += [
                f'  previous_key_id = "{plan.previous.key_id}"',
                f'  previous_key    = "file://{self.file(plan.previous)}"',
            ]
        return 'seal "static" {\n' + "\n".join(lines) + "\n}\n"


def _reconfigure(server: BaoServer, store: KeyStore, plan: UnsealKeyPlan) -> None:
    """Replace the seal stanza of the harness's config.hcl with the one the plan asks for."""
    text = server.config.read_text()
    start = text.index('seal "static" {')
    end = text.index("}\n", start) + 2
    server.config.write_text(text[:start] + store.seal_stanza(plan) + text[end:])


def test_static_key_rotation_with_real_bao(bao_factory: Callable[..., BaoServer], tmp_path: Path) -> None:
    cluster = _cluster()
    store = KeyStore(tmp_path / "keys")
    server = bao_factory(name="bao-seal")

    def plan(**kw: Any) -> UnsealKeyPlan:
        result = plan_unseal_key(cluster, namespace="ns", observed=list(store.secrets.values()), **kw)
        store.apply(result)
        return result

    # 1. first key, created once; a second reconcile keeps it
    first = plan()
    assert first.reason is UnsealKeyReason.CREATING
    assert plan().reason is UnsealKeyReason.READY
    _reconfigure(server, store, first)
    server.start()
    init = server.init()
    server.wait_unsealed()
    token = str(init["root_token"])
    server.cli("secrets", "enable", "-path=kv", "kv-v2", token=token)
    server.cli("kv", "put", "kv/probe", "answer=42", token=token)

    # 2. rotation requested: new current key, old one as previous_key; bao unseals and rewraps
    rotating = plan(rotation_id="v2")
    assert rotating.reason is UnsealKeyReason.ROTATING
    assert rotating.previous == first.current
    server.stop()
    _reconfigure(server, store, rotating)
    server.start()
    server.wait_unsealed()

    # 3. the controller reports the rewrap: the plan retires the previous key
    retired = plan(rotation_id="v2", rewrap_complete=True)
    assert retired.previous is None
    assert plan(rotation_id="v2").reason is UnsealKeyReason.READY  # recorded on the Secret
    server.stop()
    _reconfigure(server, store, retired)
    assert "previous_key" not in server.config.read_text()

    # 4. the new key alone unseals, after a crash too, and the data survived
    server.start()
    server.wait_unsealed()
    server.kill()
    server.start()
    server.wait_unsealed()
    got = server.cli("kv", "get", "-field=answer", "kv/probe", token=token)
    assert got.stdout.strip() == "42"
    assert set(store.secrets) == {"bao-unseal-key", "bao-unseal-key-v2"}  # nothing was deleted


def test_new_key_alone_cannot_unseal_before_the_rewrap(bao_factory: Callable[..., BaoServer], tmp_path: Path) -> None:
    """The negative control: why the plan keeps the old key mounted as previous_key during a rotation."""
    cluster = _cluster()
    store = KeyStore(tmp_path / "keys")
    server = bao_factory(name="bao-seal-neg")
    first = plan_unseal_key(cluster, namespace="ns", observed=[])
    store.apply(first)
    _reconfigure(server, store, first)
    server.start()
    server.init()
    server.wait_unsealed()
    server.stop()

    rotating = plan_unseal_key(cluster, namespace="ns", observed=list(store.secrets.values()), rotation_id="v2")
    store.apply(rotating)
    assert rotating.previous is not None
    without_previous = UnsealKeyPlan(
        reason=rotating.reason, message="", ok=True, current=rotating.current, previous=None
    )  # what a naive operator would render
    _reconfigure(server, store, without_previous)
    server.start()

    def refused() -> bool | None:
        return True if "unknown key id for data" in server.log.read_text() else None

    wait_until(refused, what="bao to refuse the new key alone", timeout=30)
    status = server.status()
    assert status is not None
    assert status["sealed"] is True
