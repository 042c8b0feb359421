"""``openbao-operator backup``: one raft snapshot from the active node into object storage, then retention.

Order, and why:
1. log in (short-lived token) and learn the active node's version;
2. stream ``GET sys/storage/raft/snapshot`` straight into a multipart upload under a new key, computing the
   SHA-256 and size as the bytes pass and checking they form one whole gzip stream (memory: the upload's
   parts in flight, whatever the snapshot's size). A failure here leaves no object: a multipart upload that
   is not completed does not appear;
3. write the metadata object beside it (cluster, namespace, OpenBao version, time, size, SHA-256): a restore
   verifies against it before sending anything to OpenBao;
4. only then apply retention, so an old snapshot is never deleted before a newer one is complete.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from openbao_operator.api.executor import ExecutorConfig
from openbao_operator.baoapi import BaoApiError, BaoUnavailable

from .digest import StreamDigest
from .errors import OpenBaoError
from .naming import cluster_prefix, metadata_key, parse_go_duration, snapshot_key
from .retention import to_delete, with_metadata
from .session import ClientFactory, open_session
from .storage import ObjectStorage

METADATA_FORMAT = 1


@dataclass(frozen=True)
class BackupResult:
    key: str
    size: int
    sha256: str
    openbao_version: str
    deleted: list[str] = field(default_factory=list)
    """Snapshot keys removed by retention."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _suffix() -> str:
    return secrets.token_hex(4)


async def run_backup(
    config: ExecutorConfig,
    *,
    storage: ObjectStorage,
    factory: ClientFactory | None = None,
    now: Callable[[], datetime] = _utc_now,
    suffix: Callable[[], str] = _suffix,
) -> BackupResult:
    """Take one snapshot, store it with its metadata, apply retention."""
    retention = config.retention
    max_age = (
        parse_go_duration(retention.max_age, field="retention.maxAge")
        if retention is not None and retention.max_age
        else None
    )
    prefix = cluster_prefix(path_prefix=config.target.path_prefix, namespace=config.namespace, cluster=config.cluster)
    started = now()
    key = snapshot_key(prefix, at=started, suffix=suffix())
    digest = StreamDigest(check_gzip=True)
    kwargs = {} if factory is None else {"factory": factory}
    async with open_session(config, **kwargs) as session:
        try:
            async with session.client.snapshot(session.token) as chunks:
                await storage.upload(
                    key,
                    _checked(digest.wrap(chunks), digest),
                    part_size=config.target.part_size,
                    concurrency=config.target.concurrency,
                )
        except (BaoApiError, BaoUnavailable) as exc:
            raise OpenBaoError(str(exc)) from None
        version = session.version
    metadata = {
        "formatVersion": METADATA_FORMAT,
        "cluster": config.cluster,
        "namespace": config.namespace,
        "openbaoVersion": version,
        "createdAt": started.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "key": key,
        "size": digest.size,
        "sha256": digest.sha256,
    }
    await storage.put_small(metadata_key(key), json.dumps(metadata, indent=2).encode(), content_type="application/json")
    deleted: list[str] = []
    if retention is not None and (retention.max_count or max_age is not None):
        listed = await storage.list(prefix)
        deleted = to_delete(
            (o.key for o in listed),
            prefix=prefix,
            keep=key,
            now=now(),
            max_count=retention.max_count,
            max_age=max_age,
        )
        await storage.delete(with_metadata(deleted))
    return BackupResult(key=key, size=digest.size, sha256=digest.sha256, openbao_version=version, deleted=deleted)


async def _checked(chunks: AsyncIterator[bytes], digest: StreamDigest) -> AsyncIterator[bytes]:
    """Pass ``chunks`` on; fail (and so abort the upload) if they are not one complete gzip stream."""
    async for chunk in chunks:
        if digest.gzip_error is not None:
            raise OpenBaoError(f"the snapshot OpenBao sent is corrupt ({digest.gzip_error}); nothing was stored")
        yield chunk
    if not digest.gzip_complete():
        reason = digest.gzip_error or "the stream ended before the end of the archive"
        raise OpenBaoError(f"the snapshot OpenBao sent is incomplete ({reason}); nothing was stored")
