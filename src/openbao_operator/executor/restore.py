"""``openbao-operator restore``: a snapshot from object storage into the cluster, verified before it is sent.

Order, and why:
1. read the metadata object beside the snapshot (its SHA-256 and size); without it nothing can be verified,
   so the restore stops;
2. stream the whole object once into a hash and compare size and SHA-256: a corrupted or truncated object
   fails here, before OpenBao is even contacted (bounded memory: the object is never held);
3. log in and stream the object again, pinned to the version just verified (its ETag), into
   ``POST sys/storage/raft/snapshot`` (or ``snapshot-force`` for a snapshot from a cluster with another
   seal key); the bytes are hashed again on the way, and a mismatch raises before the last chunk, which
   aborts the request, so OpenBao never receives a complete body that differs from what was verified.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from openbao_operator.api.executor import ExecutorConfig
from openbao_operator.baoapi import BaoApiError, BaoUnavailable

from .digest import StreamDigest
from .errors import OpenBaoError, SnapshotNotFoundError, VerificationError
from .naming import metadata_key
from .session import ClientFactory, open_session
from .storage import ObjectStorage


@dataclass(frozen=True)
class RestoreResult:
    key: str
    size: int
    sha256: str
    source_cluster: str
    forced: bool


@dataclass(frozen=True)
class _Expected:
    size: int
    sha256: str
    cluster: str


async def _expected(storage: ObjectStorage, key: str) -> _Expected:
    meta_key = metadata_key(key)
    try:
        raw = await storage.get_small(meta_key)
    except SnapshotNotFoundError:
        raise SnapshotNotFoundError(
            f"{meta_key} does not exist ({storage.where}): without the metadata written by the backup the "
            "snapshot cannot be verified, so it is not restored"
        ) from None
    try:
        data = json.loads(raw)
        size, sha = int(data["size"]), str(data["sha256"]).lower()
    except (ValueError, KeyError, TypeError):
        raise VerificationError(f"{meta_key} is not the metadata of a backup (size, sha256)") from None
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise VerificationError(f"{meta_key}: sha256 is not a SHA-256")
    return _Expected(size=size, sha256=sha, cluster=str(data.get("cluster") or ""))


def _compare(digest: StreamDigest, expected: _Expected, key: str) -> None:
    if digest.size != expected.size:
        raise VerificationError(
            f"{key} is {digest.size} bytes, its metadata says {expected.size}: the object is truncated or "
            "replaced; nothing was sent to OpenBao"
        )
    if digest.sha256 != expected.sha256:
        raise VerificationError(
            f"{key} does not match the SHA-256 in its metadata: the object is corrupted or replaced; nothing was "
            "sent to OpenBao"
        )


async def _verified_again(chunks: AsyncIterator[bytes], expected: _Expected, key: str) -> AsyncIterator[bytes]:
    digest = StreamDigest()
    async for chunk in chunks:
        if digest.size + len(chunk) > expected.size:
            raise VerificationError(f"{key} changed after it was verified; the restore request was aborted")
        digest.update(chunk)
        # Compare before handing on the last chunk: a mismatch aborts the request body unfinished.
        if digest.size == expected.size and digest.sha256 != expected.sha256:
            raise VerificationError(f"{key} changed after it was verified; the restore request was aborted")
        yield chunk
    _compare(digest, expected, key)


async def run_restore(
    config: ExecutorConfig,
    *,
    key: str,
    storage: ObjectStorage,
    force: bool = False,
    factory: ClientFactory | None = None,
) -> RestoreResult:
    """Verify ``key`` against its metadata, then restore it into the cluster."""
    expected = await _expected(storage, key)
    size, e_tag, chunks = await storage.download(key)
    digest = StreamDigest()
    async for chunk in chunks:
        digest.update(chunk)
    _compare(digest, expected, key)

    kwargs = {} if factory is None else {"factory": factory}
    async with open_session(config, **kwargs) as session:
        _, _, again = await storage.download(key, e_tag=e_tag)
        try:
            await session.client.restore(session.token, _verified_again(again, expected, key), force=force)
        except (BaoApiError, BaoUnavailable) as exc:
            raise OpenBaoError(str(exc)) from None
    return RestoreResult(key=key, size=size, sha256=expected.sha256, source_cluster=expected.cluster, forced=force)
