"""An async, read-only OCI distribution client on httpx2: manifests, blobs and referrers, with digests checked.

Why our own: the operator needs four read calls (manifest, blob, referrers, tag list is not one of them),
token and basic auth, and strict digest checks; oras is synchronous and has no referrers API, and a
second HTTP stack next to lightkube's httpx2 would double the dependencies.

Rules kept here:
- every body is re-hashed: a manifest fetched by digest must hash to it, a manifest fetched by tag hashes
  to the digest we report (and must agree with `Docker-Content-Digest` when the registry sends one),
  a blob must hash to its descriptor's digest and not exceed its size;
- plain HTTP only for loopback registries (and token realms); everything else is HTTPS with verification;
- credentials are sent only to the registry they were matched for or to the token realm it names; the
  Authorization header is dropped by httpx2 on cross-origin redirects (blob storage);
- every httpx2 exception and HTTP status is translated once, in :meth:`RegistryClient._send`, into the
  typed errors of :mod:`.errors`; messages carry no credential or token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx2

from .auth import Credential, Keychain
from .errors import (
    DigestMismatch,
    NotFound,
    RegistryAuthFailed,
    RegistryError,
    RegistryProtocolError,
    RegistryUnavailable,
)
from .reference import ImageReference, is_loopback_host

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST))
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_BLOB_BYTES = 4 * 1024 * 1024
DEFAULT_TIMEOUT = 5.0
USER_AGENT = "openbao-operator-imagesig"

_NO_REFERRERS_API = frozenset({400, 404, 405, 406, 501})
MAX_REFERRER_PAGES = 8
"""Pages of one referrers answer followed (a cosign-signed image has a handful of referrers)."""
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";]*)"?')
_DIGEST = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor (the parts we read)."""

    media_type: str
    digest: str
    size: int
    artifact_type: str = ""
    annotations: tuple[tuple[str, str], ...] = ()

    def annotation(self, key: str) -> str | None:
        return dict(self.annotations).get(key)


@dataclass(frozen=True)
class Manifest:
    """A manifest or index exactly as served, with the digest of those bytes."""

    digest: str
    media_type: str
    body: bytes
    doc: dict[str, Any]

    @property
    def layers(self) -> list[Descriptor]:
        return [descriptor_of(d) for d in self.doc.get("layers") or [] if isinstance(d, dict)]

    @property
    def manifests(self) -> list[Descriptor]:
        return [descriptor_of(d) for d in self.doc.get("manifests") or [] if isinstance(d, dict)]


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    """`<algorithm>:<hex>` of ``data``."""
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def descriptor_of(doc: dict[str, Any]) -> Descriptor:
    """A descriptor from its JSON; raises :class:`RegistryProtocolError` when malformed."""
    digest = doc.get("digest")
    size = doc.get("size")
    media_type = doc.get("mediaType")
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise RegistryProtocolError(f"descriptor has an invalid digest {str(digest)[:80]!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RegistryProtocolError(f"descriptor {digest} has an invalid size")
    if not isinstance(media_type, str):
        raise RegistryProtocolError(f"descriptor {digest} has no mediaType")
    annotations = doc.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise RegistryProtocolError(f"descriptor {digest} has invalid annotations")
    artifact_type = doc.get("artifactType") or ""
    return Descriptor(
        media_type=media_type,
        digest=digest,
        size=size,
        artifact_type=artifact_type if isinstance(artifact_type, str) else "",
        annotations=tuple((str(k), str(v)) for k, v in annotations.items()),
    )


def check_digest(data: bytes, expected: str, *, what: str) -> None:
    """Raise :class:`DigestMismatch` unless ``data`` hashes to ``expected``."""
    algorithm, _, _ = expected.partition(":")
    if algorithm not in ("sha256", "sha512"):
        raise DigestMismatch(f"{what}: unsupported digest algorithm {algorithm!r}")
    actual = digest_of(data, algorithm)
    if actual != expected:
        raise DigestMismatch(f"{what}: content hashes to {actual}, expected {expected}")


def new_http_client(
    *, timeout: float = DEFAULT_TIMEOUT, transport: httpx2.AsyncBaseTransport | None = None
) -> httpx2.AsyncClient:
    """The shared connection pool: TLS verified, no proxies from the environment, no cookies kept."""
    return httpx2.AsyncClient(
        timeout=httpx2.Timeout(timeout),
        transport=transport,
        trust_env=False,
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT},
    )


@dataclass
class _Token:
    header: str
    expires: float


class RegistryClient:
    """One verification's view of the registries: a keychain and tokens, over a shared httpx2 pool.

    Cheap to create; tokens live as long as the client (and no longer than the registry said).
    """

    def __init__(
        self,
        http: httpx2.AsyncClient,
        *,
        keychain: Keychain | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._keychain = keychain or Keychain()
        self._clock = clock
        self._tokens: dict[tuple[str, str], _Token] = {}
        self.requests = 0
        """Requests sent (tests use it to show that caches avoid the registry)."""

    def credential_for(self, ref: ImageReference) -> Credential | None:
        return self._keychain.lookup(ref.registry, ref.repository)

    # -- public reads -------------------------------------------------------------------------

    async def get_manifest(self, ref: ImageReference, reference: str | None = None) -> Manifest:
        """The manifest or index at ``reference`` (default: the reference's digest, tag or `latest`)."""
        target = reference or ref.reference
        resp_headers, body = await self._get(
            ref, f"manifests/{target}", accept=MANIFEST_ACCEPT, limit=MAX_MANIFEST_BYTES, what=f"manifest {target}"
        )
        digest = digest_of(body)
        if _DIGEST.match(target):
            check_digest(body, target, what=f"manifest {ref.name}@{target}")
            digest = target
        announced = resp_headers.get("docker-content-digest")
        if announced and announced.startswith("sha256:") and announced != digest:
            raise DigestMismatch(
                f"manifest {ref.name}:{target}: Docker-Content-Digest {announced} but the body hashes to {digest}"
            )
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise RegistryProtocolError(f"manifest {ref.name}:{target} is not JSON") from None
        if not isinstance(doc, dict):
            raise RegistryProtocolError(f"manifest {ref.name}:{target} is not a JSON object")
        media_type = doc.get("mediaType") or resp_headers.get("content-type", "").split(";")[0].strip()
        return Manifest(digest=digest, media_type=str(media_type), body=body, doc=doc)

    async def resolve(self, ref: ImageReference) -> str:
        """The digest the reference points to now (a pinned digest is confirmed to exist)."""
        return (await self.get_manifest(ref)).digest

    async def get_blob(self, ref: ImageReference, descriptor: Descriptor, *, limit: int = MAX_BLOB_BYTES) -> bytes:
        """The blob of ``descriptor`` from ``ref``'s repository, checked against its digest and size."""
        if descriptor.size > limit:
            raise RegistryProtocolError(f"blob {descriptor.digest} is {descriptor.size} bytes, over the {limit} limit")
        _, body = await self._get(
            ref, f"blobs/{descriptor.digest}", accept="*/*", limit=descriptor.size, what=f"blob {descriptor.digest}"
        )
        if len(body) != descriptor.size:
            raise DigestMismatch(f"blob {descriptor.digest} is {len(body)} bytes, descriptor says {descriptor.size}")
        check_digest(body, descriptor.digest, what=f"blob of {ref.name}")
        return body

    async def referrers(self, ref: ImageReference, digest: str, *, artifact_type: str = "") -> list[Descriptor]:
        """Manifests whose subject is ``digest``: the OCI 1.1 referrers API, else the `sha256-<hex>` tag index.

        Filtered by ``artifact_type`` here too (a registry may ignore the filter). An absent tag index
        means no referrers. A paginated answer (`Link: <url>; rel="next"`, OCI distribution spec) is
        followed for at most :data:`MAX_REFERRER_PAGES` pages, and only to the same registry and
        repository: credentials never follow a link elsewhere, and a looping registry cannot keep us.
        """
        query = f"?{urlencode({'artifactType': artifact_type})}" if artifact_type else ""
        path: str | None = f"referrers/{digest}{query}"
        found: list[Descriptor] = []
        pages = 0
        while path is not None and pages < MAX_REFERRER_PAGES:
            try:
                headers, body = await self._get(ref, path, accept=OCI_INDEX, limit=MAX_MANIFEST_BYTES, what="referrers")
            except RegistryError as exc:
                if pages:
                    # A later page that vanished is the registry's fault, not an absent image.
                    if isinstance(exc, NotFound):
                        raise RegistryProtocolError(f"{ref.name} referrers page {pages + 1}: not found") from None
                    raise
                # No referrers API (distribution 2.8 answers 404; some registries 400/405/406/501): the OCI
                # 1.1 tag schema. Outages and auth failures are not a missing API.
                if exc.status not in _NO_REFERRERS_API:
                    raise
                try:
                    index = (await self.get_manifest(ref, tag_schema_tag(digest))).doc
                except NotFound:
                    return []
                found = [descriptor_of(d) for d in index.get("manifests") or [] if isinstance(d, dict)]
                break
            pages += 1
            index = _json_object(body, what=f"referrers of {digest}")
            found += [descriptor_of(d) for d in index.get("manifests") or [] if isinstance(d, dict)]
            path = self._next_page(ref, path, headers)
        return [d for d in found if not artifact_type or d.artifact_type == artifact_type]

    def _next_page(self, ref: ImageReference, path: str, headers: httpx2.Headers) -> str | None:
        """The path (below `/v2/<repository>/`) of the `rel="next"` link, when it stays on this repository."""
        for value in headers.get_list("link"):
            for match in _LINK.finditer(value):
                if "next" not in match.group(2).lower().split():
                    continue
                here = self._url(ref, path)
                target = urlsplit(urljoin(here, match.group(1)))
                origin = urlsplit(here)
                prefix = f"/v2/{ref.repository}/referrers/"
                if (target.scheme, target.netloc) != (origin.scheme, origin.netloc) or not target.path.startswith(
                    prefix
                ):
                    raise RegistryProtocolError(f"{ref.name} referrers: the next page leaves the repository")
                rest = str(target.path).removeprefix(f"/v2/{ref.repository}/")
                return rest + (f"?{target.query}" if target.query else "")
        return None

    # -- transport ----------------------------------------------------------------------------

    def _url(self, ref: ImageReference, path: str) -> str:
        scheme = "http" if ref.plain_http else "https"
        return f"{scheme}://{ref.registry}/v2/{ref.repository}/{path}"

    async def _get(
        self, ref: ImageReference, path: str, *, accept: str, limit: int, what: str
    ) -> tuple[httpx2.Headers, bytes]:
        url = self._url(ref, path)
        headers = {"Accept": accept}
        key = (ref.registry, ref.repository)
        token = self._tokens.get(key)
        if token is not None and token.expires > self._clock():
            headers["Authorization"] = token.header
        status, resp_headers, body = await self._send(url, headers, limit=limit, what=f"{ref.name} {what}")
        if status == 401:
            auth = await self._authorize(ref, resp_headers.get_list("www-authenticate"), what=f"{ref.name} {what}")
            headers["Authorization"] = auth
            status, resp_headers, body = await self._send(url, headers, limit=limit, what=f"{ref.name} {what}")
        _raise_for_status(status, f"{ref.name} {what}")
        return resp_headers, body

    async def _send(
        self, url: str, headers: dict[str, str], *, limit: int, what: str
    ) -> tuple[int, httpx2.Headers, bytes]:
        """One GET, translated: transport failures become :class:`RegistryUnavailable`."""
        self.requests += 1
        try:
            async with self._http.stream("GET", url, headers=headers) as resp:
                if resp.status_code != 200:
                    await resp.aread()
                    return resp.status_code, resp.headers, b""
                if not resp.url.scheme == "https" and not is_loopback_host(resp.url.netloc.decode("ascii")):
                    raise RegistryProtocolError(f"{what}: redirected to plain HTTP {resp.url.host}")
                length = resp.headers.get("content-length")
                if length is not None and length.isdigit() and int(length) > limit:
                    raise RegistryProtocolError(f"{what}: {length} bytes, over the {limit} limit")
                chunks: list[bytes] = []
                total = 0
                async for chunk in resp.aiter_bytes():
                    total += len(chunk)
                    if total > limit:
                        raise RegistryProtocolError(f"{what}: more than {limit} bytes")
                    chunks.append(chunk)
                return resp.status_code, resp.headers, b"".join(chunks)
        except RegistryError:
            raise
        except httpx2.TimeoutException:
            raise RegistryUnavailable(f"{what}: timed out") from None
        except httpx2.TooManyRedirects:
            raise RegistryProtocolError(f"{what}: too many redirects") from None
        except (httpx2.TransportError, httpx2.StreamError) as exc:
            raise RegistryUnavailable(f"{what}: {type(exc).__name__}: {_safe(exc)}") from None
        except httpx2.InvalidURL:
            raise RegistryProtocolError(f"{what}: invalid URL") from None

    async def _authorize(self, ref: ImageReference, challenges: list[str], *, what: str) -> str:
        """The Authorization header for a 401 challenge: a bearer token from the realm, or basic auth."""
        credential = self.credential_for(ref)
        for challenge in challenges:
            scheme, _, rest = challenge.strip().partition(" ")
            params = {
                m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
                for m in _CHALLENGE_PARAM.finditer(rest)
            }
            if scheme.lower() == "bearer" and params.get("realm"):
                return await self._bearer(ref, params, credential, what=what)
            if scheme.lower() == "basic":
                if credential is None or not (credential.username or credential.password):
                    raise RegistryAuthFailed(
                        f"{what}: the registry asks for credentials and no pull secret has any for {ref.registry}",
                        status=401,
                    )
                header = _basic(credential)
                self._tokens[(ref.registry, ref.repository)] = _Token(header, self._clock() + 3600.0)
                return header
        raise RegistryAuthFailed(f"{what}: 401 without a usable WWW-Authenticate challenge", status=401)

    async def _bearer(
        self, ref: ImageReference, params: dict[str, str], credential: Credential | None, *, what: str
    ) -> str:
        realm = params["realm"]
        parts = urlsplit(realm)
        if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not is_loopback_host(parts.netloc)):
            raise RegistryAuthFailed(f"{what}: token realm must be https (got {parts.scheme}://{parts.hostname})")
        query = {"scope": params.get("scope") or f"repository:{ref.repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        headers = {"Accept": "application/json"}
        if credential is not None and credential.registry_token:
            header = f"Bearer {credential.registry_token}"
            self._tokens[(ref.registry, ref.repository)] = _Token(header, self._clock() + 60.0)
            return header
        if credential is not None and (credential.username or credential.password):
            headers["Authorization"] = _basic(credential)
        sep = "&" if parts.query else "?"
        status, _, body = await self._send(
            realm + sep + urlencode(query), headers, limit=MAX_MANIFEST_BYTES, what=f"{what} token"
        )
        if status in (401, 403):
            raise RegistryAuthFailed(f"{what}: the token service refused the credentials ({status})", status=status)
        _raise_for_status(status, f"{what} token")
        doc = _json_object(body, what=f"{what} token")
        token = doc.get("token") or doc.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryAuthFailed(f"{what}: the token service returned no token")
        expires_in = doc.get("expires_in")
        ttl = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 60.0
        header = f"Bearer {token}"
        self._tokens[(ref.registry, ref.repository)] = _Token(header, self._clock() + max(ttl - 5.0, 1.0))
        return header


def tag_schema_tag(digest: str) -> str:
    """`sha256-<hex>`: the OCI referrers tag schema, also cosign's attachment prefix."""
    return digest.replace(":", "-", 1)


def _basic(credential: Credential) -> str:
    raw = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _json_object(body: bytes, *, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RegistryProtocolError(f"{what}: not JSON") from None
    if not isinstance(doc, dict):
        raise RegistryProtocolError(f"{what}: not a JSON object")
    return doc


def _raise_for_status(status: int, what: str) -> None:
    if status == 200:
        return
    if status == 404:
        raise NotFound(f"{what}: not found", status=status)
    if status in (401, 403):
        raise RegistryAuthFailed(f"{what}: access denied ({status})", status=status)
    if status == 429 or status >= 500:
        raise RegistryUnavailable(f"{what}: registry answered {status}", status=status)
    raise RegistryProtocolError(f"{what}: unexpected status {status}", status=status)


def _safe(exc: Exception) -> str:
    """An exception's text without anything after a URL's userinfo (never expected, but never leaked)."""
    text = str(exc) or type(exc).__name__
    return re.sub(r"//[^/@\s]*@", "//", text)[:200]
