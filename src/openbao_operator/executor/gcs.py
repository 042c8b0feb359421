"""Google Cloud Storage uploads through the JSON API's resumable protocol, with bounded memory.

Why not object_store's multipart upload for GCS: it speaks the XML API's multipart protocol, which real GCS
has but the GCS emulator the tests run (fake-gcs-server, the maintained one on the Go module proxy) does
not, so it could never be proven here. The resumable protocol is GCS's own way to stream an object of
unknown size: one session, then sequential chunks (a multiple of 256 KiB, ``Content-Range: bytes a-b/*``,
answered 308) and a last chunk that names the total. Memory: one part. Everything else (get, list, delete,
small puts) still goes through obstore.

Tokens (the GCS credentials Secret holds a service-account key, as the reference operator documents):
- a service-account key: a JWT signed with its private key (RS256), exchanged at its ``token_uri`` for an
  access token (Google's OAuth 2.0 JWT-bearer grant, scope devstorage.read_write);
- no Secret: the metadata server (GKE Workload Identity, GCE), ``computeMetadata/v1/.../token``;
- an emulator key (``disable_oauth: true``, object_store's convention for emulators): no token at all.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from openbao_operator.baoapi import Sensitive

from .errors import ExecutorConfigError, StorageError

GCS_BASE = "https://storage.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
METADATA_TOKEN = "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"  # noqa: S105 (a URL)
CHUNK_QUANTUM = 256 * 1024
"""Resumable upload chunks must be a multiple of this (except the last)."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def service_account_assertion(key: dict[str, Any], *, now: float, scope: str = SCOPE) -> str:
    """The signed JWT of the JWT-bearer grant for a service-account key (pure: ``now`` is injected)."""
    try:
        private = serialization.load_pem_private_key(str(key["private_key"]).encode(), password=None)
        email, token_uri = str(key["client_email"]), str(key.get("token_uri") or "https://oauth2.googleapis.com/token")
    except (KeyError, ValueError, TypeError):
        raise ExecutorConfigError(
            "target.credentialsSecretRef", "credentials.json is not a service-account key (private_key, client_email)"
        ) from None
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ExecutorConfigError("target.credentialsSecretRef", "credentials.json: the private key is not RSA")
    header = {"alg": "RS256", "typ": "JWT"}
    if key.get("private_key_id"):
        header["kid"] = str(key["private_key_id"])
    claims = {"iss": email, "scope": scope, "aud": token_uri, "iat": int(now), "exp": int(now) + 3600}
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


@dataclass
class GcsTokens:
    """Access tokens for GCS, fetched when first needed and again shortly before they expire."""

    key: dict[str, Any] | None
    """The service-account key; None: the metadata server."""
    clock: Callable[[], float] = time.time
    _token: Sensitive | None = None
    _expires: float = 0.0

    @property
    def anonymous(self) -> bool:
        return self.key is not None and bool(self.key.get("disable_oauth"))

    async def token(self) -> Sensitive | None:
        if self.anonymous:
            return None
        if self._token is not None and self.clock() < self._expires - 60:
            return self._token
        try:
            async with httpx2.AsyncClient(timeout=httpx2.Timeout(30.0)) as http:
                if self.key is not None:
                    assertion = service_account_assertion(self.key, now=self.clock())
                    uri = str(self.key.get("token_uri") or "https://oauth2.googleapis.com/token")
                    resp = await http.post(
                        uri,
                        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
                    )
                else:
                    resp = await http.get(METADATA_TOKEN, headers={"Metadata-Flavor": "Google"})
        except httpx2.TransportError as exc:
            raise StorageError(f"GCS token request failed: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise StorageError(f"GCS token request answered HTTP {resp.status_code}")
        data = resp.json()
        self._token = Sensitive(str(data["access_token"]))
        self._expires = self.clock() + float(data.get("expires_in") or 3600)
        return self._token


def chunk_size(part_size: int) -> int:
    """``partSize`` rounded down to the 256 KiB quantum (at least one quantum)."""
    return max(CHUNK_QUANTUM, part_size - part_size % CHUNK_QUANTUM)


async def resumable_upload(
    *,
    base_url: str | None,
    bucket: str,
    key: str,
    chunks: AsyncIterable[bytes],
    part_size: int,
    tokens: GcsTokens,
    verify: Any = True,
    content_type: str = "application/octet-stream",
) -> None:
    """Stream ``chunks`` into ``bucket/key``; the object exists only once the last chunk is accepted."""
    base = (base_url or GCS_BASE).rstrip("/")
    step = chunk_size(part_size)
    where = f"gcs://{bucket}"

    async def headers(**extra: str) -> dict[str, str]:
        token = await tokens.token()
        out = dict(extra)
        if token is not None:
            out["Authorization"] = f"Bearer {token.reveal()}"
        return out

    async with httpx2.AsyncClient(timeout=httpx2.Timeout(300.0), verify=verify) as http:
        try:
            start = await http.post(
                f"{base}/upload/storage/v1/b/{quote(bucket, safe='')}/o",
                params={"uploadType": "resumable", "name": key},
                json={"name": key, "contentType": content_type},
                headers=await headers(**{"X-Upload-Content-Type": content_type}),
            )
        except httpx2.TransportError as exc:
            raise StorageError(f"upload {key} ({where}): {type(exc).__name__}") from None
        session = start.headers.get("location")
        if start.status_code != 200 or not session:
            raise StorageError(f"upload {key} ({where}): starting a resumable upload answered HTTP {start.status_code}")
        sent, buffer = 0, bytearray()
        try:
            async for piece in chunks:
                buffer += piece
                while len(buffer) >= step:
                    part = bytes(buffer[:step])
                    del buffer[:step]
                    await _put(http, session, part, sent, None, headers, key, where)
                    sent += len(part)
            await _put(http, session, bytes(buffer), sent, sent + len(buffer), headers, key, where)
        except BaseException:
            # Cancel the session: nothing half-written stays behind (GCS would drop it after a week anyway).
            with contextlib.suppress(httpx2.TransportError, StorageError):
                await http.delete(session, headers=await headers())
            raise


async def _put(
    http: httpx2.AsyncClient,
    session: str,
    part: bytes,
    offset: int,
    total: int | None,
    headers: Callable[..., Any],
    key: str,
    where: str,
) -> None:
    end = "*" if total is None else str(total)
    span = f"bytes {offset}-{offset + len(part) - 1}/{end}" if part else f"bytes */{end}"
    try:
        resp = await http.put(session, content=part, headers=await headers(**{"Content-Range": span}))
    except httpx2.TransportError as exc:
        raise StorageError(f"upload {key} ({where}): {type(exc).__name__}") from None
    expected = (308,) if total is None else (200, 201)
    if resp.status_code not in expected:
        raise StorageError(f"upload {key} ({where}): a chunk ({span}) answered HTTP {resp.status_code}")
