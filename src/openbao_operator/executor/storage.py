"""Object storage through one API for S3-compatible stores, GCS and Azure Blob (obstore, Rust object_store).

Why this module: it is the only one that imports obstore, so the library's configuration keys, its async
iterators and its exception types stop here; the rest of the executor sees :class:`ObjectStorage` with five
operations and :class:`~.errors.StorageError` (messages scrubbed of every credential value).

How ``spec.backup.target`` maps (reference operator's meanings):
- s3: ``endpoint`` (unset: AWS), ``region``, ``usePathStyle`` (false: virtual-hosted, the bucket goes into
  the endpoint's host), static keys from the Secret, or web identity (``roleArn`` plus the projected token
  file) through STS; an ``http://`` endpoint is allowed as written; ``insecureSkipVerify`` and the Secret's
  ``caCert`` set the TLS trust.
- gcs: ``endpoint`` is the base URL (unset: Google's); ``credentials.json`` from the Secret is the service
  account key; without it, application default credentials.
- azure: ``azure.storageAccount`` and ``azure.container`` (default the bucket); ``accountKey`` or a
  ``connectionString`` (AccountName, AccountKey, BlobEndpoint, SharedAccessSignature) from the Secret;
  ``endpoint`` (or the connection string's BlobEndpoint) overrides ``https://<account>.blob.core.windows.net``.
Uploads are multipart with ``partSize`` parts and at most ``concurrency`` parts in flight, so an upload holds
about partSize x (concurrency + 1) bytes whatever the object's size.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import obstore
from obstore.exceptions import BaseError, NotFoundError
from obstore.store import AzureStore, GCSStore, S3Store

from openbao_operator.api.operations import BackupTarget

from .credentials import StorageCredentials
from .errors import ExecutorConfigError, SnapshotNotFoundError, StorageError, scrub
from .gcs import GcsTokens, resumable_upload

if TYPE_CHECKING:
    from obstore.store import ClientConfig, ObjectStore

STORAGE_ERRORS = (BaseError, OSError)
"""What obstore raises: its own hierarchy, and builtins (FileNotFoundError for a missing object, connection
and timeout errors) for some conditions."""
MAX_DETAIL = 600
DOWNLOAD_CHUNK = 1 << 20
"""Chunks handed on from a download: small enough to keep a restore's memory flat."""


@dataclass(frozen=True)
class GcsUpload:
    """How GCS uploads go (the JSON API's resumable protocol; see :mod:`.gcs`)."""

    base_url: str | None
    bucket: str
    tokens: GcsTokens
    verify: bool


@dataclass(frozen=True)
class StoredObject:
    """One object of a listing."""

    key: str
    size: int
    last_modified: datetime


class ObjectStorage:
    """The bucket (or container) of one backup target."""

    def __init__(
        self, store: ObjectStore, *, secrets: Sequence[str], where: str, gcs_upload: GcsUpload | None = None
    ) -> None:
        self._store = store
        self._secrets = list(secrets)
        self._gcs_upload = gcs_upload
        self.where = where
        """For messages: provider and bucket, never a credential."""

    def _error(self, what: str, exc: BaseException) -> StorageError:
        # object_store appends a multi-line "Debug source" dump to its messages: the first part says it all.
        detail = str(exc).split("\n\nDebug source", 1)[0].strip()
        if len(detail) > MAX_DETAIL:
            detail = detail[:MAX_DETAIL] + "..."
        message = scrub(f"{what} ({self.where}): {type(exc).__name__}: {detail}", self._secrets)
        # "Not found" means a missing snapshot only for a read; for an upload or a listing it is the bucket
        # (or container) that does not exist, which is a storage problem, not a missing snapshot.
        missing = isinstance(exc, NotFoundError | FileNotFoundError) and what.startswith("download ")
        return SnapshotNotFoundError(message) if missing else StorageError(message)

    async def upload(self, key: str, chunks: AsyncIterable[bytes], *, part_size: int, concurrency: int) -> None:
        """Multipart upload of a stream; the object appears only when every part is in (else nothing)."""
        if self._gcs_upload is not None:
            await resumable_upload(
                base_url=self._gcs_upload.base_url,
                bucket=self._gcs_upload.bucket,
                key=key,
                chunks=chunks,
                part_size=part_size,
                tokens=self._gcs_upload.tokens,
                verify=self._gcs_upload.verify,
            )
            return
        try:
            await obstore.put_async(
                self._store,
                key,
                chunks,
                use_multipart=True,
                chunk_size=part_size,
                max_concurrency=concurrency,
                attributes={"Content-Type": "application/octet-stream"},
            )
        except STORAGE_ERRORS as exc:
            raise self._error(f"upload {key}", exc) from None

    async def put_small(self, key: str, data: bytes, *, content_type: str) -> None:
        """A single-request upload of a small object (the metadata beside a snapshot)."""
        if self._gcs_upload is not None:
            await resumable_upload(
                base_url=self._gcs_upload.base_url,
                bucket=self._gcs_upload.bucket,
                key=key,
                chunks=_one(data),
                part_size=max(len(data), 1),
                tokens=self._gcs_upload.tokens,
                verify=self._gcs_upload.verify,
                content_type=content_type,
            )
            return
        try:
            await obstore.put_async(
                self._store, key, data, use_multipart=False, attributes={"Content-Type": content_type}
            )
        except STORAGE_ERRORS as exc:
            raise self._error(f"upload {key}", exc) from None

    async def get_small(self, key: str, *, limit: int = 1 << 20) -> bytes:
        """A small object whole (refused above ``limit`` bytes: metadata is never large)."""
        try:
            result = await obstore.get_async(self._store, key)
            if result.meta["size"] > limit:
                raise StorageError(f"{key} ({self.where}) is {result.meta['size']} bytes, more than {limit}")
            return bytes(await result.bytes_async())
        except STORAGE_ERRORS as exc:
            raise self._error(f"download {key}", exc) from None

    async def download(self, key: str, *, e_tag: str | None = None) -> tuple[int, str | None, AsyncIterator[bytes]]:
        """Size, ETag and a chunk stream of one object; with ``e_tag`` the object must still be that version."""
        options: dict[str, Any] = {"if_match": e_tag} if e_tag else {}
        try:
            result = await obstore.get_async(self._store, key, options=options or None)  # type: ignore[arg-type]
        except STORAGE_ERRORS as exc:
            raise self._error(f"download {key}", exc) from None
        meta = result.meta

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in result.stream(min_chunk_size=DOWNLOAD_CHUNK):
                    yield bytes(chunk)
            except STORAGE_ERRORS as exc:
                raise self._error(f"download {key}", exc) from None

        return int(meta["size"]), meta.get("e_tag"), chunks()

    async def list(self, prefix: str) -> list[StoredObject]:
        """Every object under ``prefix`` (all pages)."""
        found: list[StoredObject] = []
        try:
            async for page in obstore.list(self._store, prefix):
                found.extend(
                    StoredObject(key=m["path"], size=int(m["size"]), last_modified=m["last_modified"]) for m in page
                )
        except STORAGE_ERRORS as exc:
            raise self._error(f"list {prefix}", exc) from None
        return found

    async def delete(self, keys: Sequence[str]) -> None:
        """Delete objects (a missing one is not an error)."""
        for key in keys:
            try:
                await obstore.delete_async(self._store, key)
            except (NotFoundError, FileNotFoundError):
                continue
            except STORAGE_ERRORS as exc:
                raise self._error(f"delete {key}", exc) from None


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _client_options(target: BackupTarget, endpoint: str | None, ca_cert: str | None) -> ClientConfig:
    options: ClientConfig = {}
    if endpoint and endpoint.startswith("http://"):
        options["allow_http"] = True
    if target.insecure_skip_verify:
        options["allow_invalid_certificates"] = True
    if ca_cert:
        options["root_certificate"] = ca_cert
    return options


def _virtual_hosted(endpoint: str, bucket: str) -> str:
    """``https://s3.example.com`` -> ``https://<bucket>.s3.example.com`` (what virtual-hosted style means)."""
    parts = urlsplit(endpoint)
    host = parts.netloc
    if host.startswith(f"{bucket}."):
        return endpoint
    return urlunsplit((parts.scheme, f"{bucket}.{host}", parts.path, parts.query, parts.fragment))


def _s3(target: BackupTarget, creds: StorageCredentials, web_identity_token_file: str | None) -> ObjectStore:
    config: dict[str, Any] = {"region": creds.region or target.region}
    endpoint = target.endpoint.rstrip("/") if target.endpoint else None
    if endpoint:
        config["endpoint"] = endpoint if target.use_path_style else _virtual_hosted(endpoint, target.bucket)
    config["virtual_hosted_style_request"] = not target.use_path_style
    if creds.access_key_id is not None and creds.secret_access_key is not None:
        config["access_key_id"] = creds.access_key_id.reveal()
        config["secret_access_key"] = creds.secret_access_key.reveal()
        if creds.session_token is not None:
            config["session_token"] = creds.session_token.reveal()
    elif target.role_arn:
        if not web_identity_token_file:
            raise ExecutorConfigError("target.roleArn", "web identity needs the projected token file")
        config["role_arn"] = target.role_arn
        config["web_identity_token_file"] = web_identity_token_file
        config["role_session_name"] = "openbao-operator-backup"
    return S3Store(target.bucket, config=config, client_options=_client_options(target, endpoint, creds.ca_cert))  # type: ignore[arg-type]


def _gcs(target: BackupTarget, creds: StorageCredentials) -> ObjectStore:
    config: dict[str, Any] = {}
    if creds.gcs_service_account is not None:
        config["service_account_key"] = creds.gcs_service_account.reveal()
    endpoint = target.endpoint.rstrip("/") if target.endpoint else None
    if endpoint:
        config["base_url"] = endpoint
    return GCSStore(target.bucket, config=config, client_options=_client_options(target, endpoint, None))  # type: ignore[arg-type]


def _azure(target: BackupTarget, creds: StorageCredentials) -> ObjectStore:
    conn = creds.azure_connection
    account = (target.azure.storage_account if target.azure is not None else None) or (
        conn["AccountName"].reveal() if "AccountName" in conn else None
    )
    if not account:
        raise ExecutorConfigError("target.azure.storageAccount", "the storage account is required for provider azure")
    container = (target.azure.container if target.azure is not None else None) or target.bucket
    config: dict[str, Any] = {"account_name": account}
    key = creds.azure_account_key or conn.get("AccountKey")
    if key is not None:
        config["account_key"] = key.reveal()
    elif "SharedAccessSignature" in conn:
        config["sas_key"] = conn["SharedAccessSignature"].reveal()
    endpoint = target.endpoint or (conn["BlobEndpoint"].reveal() if "BlobEndpoint" in conn else None)
    if endpoint:
        endpoint = endpoint.rstrip("/")
        config["endpoint"] = endpoint
    return AzureStore(container, config=config, client_options=_client_options(target, endpoint, None))  # type: ignore[arg-type]


def open_storage(
    target: BackupTarget, creds: StorageCredentials, *, web_identity_token_file: str | None = None
) -> ObjectStorage:
    """The store of ``target`` (no request is made until the first operation)."""
    try:
        if target.provider == "s3":
            store = _s3(target, creds, web_identity_token_file)
        elif target.provider == "gcs":
            store = _gcs(target, creds)
        else:
            store = _azure(target, creds)
    except STORAGE_ERRORS as exc:
        raise ExecutorConfigError("target", scrub(f"{type(exc).__name__}: {exc}", creds.secrets())) from None
    gcs_upload = None
    if target.provider == "gcs":
        key: dict[str, Any] | None = None
        if creds.gcs_service_account is not None:
            try:
                key = json.loads(creds.gcs_service_account.reveal())
            except ValueError:
                raise ExecutorConfigError("target.credentialsSecretRef", "credentials.json is not JSON") from None
        gcs_upload = GcsUpload(
            base_url=target.endpoint or (key or {}).get("gcs_base_url"),
            bucket=target.bucket,
            tokens=GcsTokens(key=key),
            verify=not target.insecure_skip_verify,
        )
    return ObjectStorage(
        store, secrets=creds.secrets(), where=f"{target.provider}://{target.bucket}", gcs_upload=gcs_upload
    )
