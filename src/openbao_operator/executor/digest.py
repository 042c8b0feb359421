"""A stream passed through while its SHA-256 and length are computed, and checked to be a whole gzip stream.

Why the gzip check: OpenBao writes a raft snapshot as a gzip-compressed archive and streams it as it reads
its store; if the node fails half-way the HTTP body can simply end early. Decompressing as the bytes pass
(output discarded, in bounded pieces) proves the upload ends where the archive ends, so a truncated
snapshot is never recorded as a successful backup.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import AsyncIterable, AsyncIterator

INFLATE_STEP = 1 << 20
"""Largest piece of decompressed output held at once."""


class StreamDigest:
    """Feed chunks through :meth:`wrap`; ``sha256`` and ``size`` are final when the stream ends."""

    def __init__(self, *, check_gzip: bool = False) -> None:
        self._hash = hashlib.sha256()
        self.size = 0
        self._gzip = zlib.decompressobj(wbits=31) if check_gzip else None
        self.gzip_error: str | None = None

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self.size += len(chunk)
        if self._gzip is not None and self.gzip_error is None:
            try:
                data = chunk
                while data:
                    self._gzip.decompress(data, INFLATE_STEP)
                    data = self._gzip.unconsumed_tail
            except zlib.error as exc:
                self.gzip_error = f"not a gzip stream: {exc}"

    def gzip_complete(self) -> bool:
        """True when the whole gzip stream (to its trailer and CRC) has passed."""
        return self._gzip is not None and self.gzip_error is None and self._gzip.eof

    async def wrap(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            self.update(chunk)
            yield chunk
