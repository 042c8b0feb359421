"""`ImageVerifier.verify(image, config, pull_secrets=...) -> Verdict`: the one call the controller makes.

One verification: parse the reference; resolve a tag to its digest (tag cache, TTL); look the verdict up
by (repository, digest, signer, tlog mode, credential identity); on a miss fetch the cosign v2 `.sig`
manifest and the Sigstore bundle referrers, and accept the image if any signature verifies with the key
(or, keyless, with a certificate that chains to the supplied trusted root and names the identity) and
names the digest. Every failure becomes a ``Failed`` verdict with a reason; nothing raises
to the caller except cancellation. Only positive verdicts are cached (a missing signature may be pushed
a minute later; a registry outage must not stick), and verification off costs zero registry calls.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import httpx2

from ..api.workload import ImageVerificationConfig
from .auth import Keychain, keychain_from_secrets
from .cache import BoundedCache
from .cosign import (
    BUNDLE_ARTIFACT_TYPE,
    BUNDLE_MEDIA_TYPES,
    CERTIFICATE_ANNOTATION,
    REKOR_BUNDLE_ANNOTATION,
    SIG_TAG_SUFFIX,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
    KeylessPolicy,
    SignatureCheck,
    SignerPolicy,
    check_bundle,
    check_simple_signing,
)
from .errors import (
    FailureReason,
    ImageSigError,
    InvalidConfiguration,
    NotFound,
    RegistryProtocolError,
    RegistryUnavailable,
)
from .keyless import TRUSTED_ROOT_KEY, Identity, TrustedRoot, parse_trusted_root
from .keys import load_public_key
from .public_good import PUBLIC_GOOD_ROOT, EmbeddedRoot
from .reference import ImageReference, parse_reference
from .registry import DEFAULT_TIMEOUT, RegistryClient, new_http_client, tag_schema_tag
from .tlog import RekorKeys
from .verdict import Failed, NotRequired, SignatureFormat, Verdict, Verified

DEFAULT_DEADLINE = 20.0
MAX_SIGNATURES = 16
"""Signatures examined per format and image; more are ignored (bounds the work an attacker can cause)."""

# Furthest-along failure first: it says the most about what is wrong. Keyless certificate checks come
# after the signature, the claims and the log entry (the entry gives the signing time).
_FAILURE_RANK = {
    FailureReason.IDENTITY_MISMATCH: 0,
    FailureReason.ISSUER_MISMATCH: 1,
    FailureReason.CERTIFICATE_EXPIRED: 2,
    FailureReason.TLOG_UNVERIFIABLE: 3,
    FailureReason.TLOG_ENTRY_MISSING: 4,
    FailureReason.CLAIMS_MISMATCH: 5,
    FailureReason.CERTIFICATE_UNTRUSTED: 6,
    FailureReason.SIGNATURE_MISMATCH: 7,
    FailureReason.REGISTRY_PROTOCOL_ERROR: 8,
}


@dataclass(frozen=True)
class _Key:
    registry: str
    repository: str
    digest: str
    signer_id: str
    """The key fingerprint, or (keyless) issuer, subject and trusted-root fingerprint."""
    require_tlog: bool
    rekor_id: str
    """Which Rekor keys were trusted (the trusted root's, or the operator's)."""
    credential: str
    """A one-way fingerprint of the pull credential used (or "anonymous"): tenants do not share verdicts."""


class ImageVerifier:
    """Verifies images against spec.imageVerification; holds the connection pool and both caches.

    One per operator process; call :meth:`aclose` on shutdown. ``clock`` drives the tag-cache TTL and
    token expiry (inject a fake one in tests); ``transport`` replaces httpx2's network transport
    (fault injection only); ``rekor_keys`` are the trusted Rekor keys for ignoreTlog: false when the
    cluster supplies no trusted root; ``wall_clock`` (unix seconds) is the time keyless certificates are
    checked at when the transparency log is not (ignoreTlog: true).
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx2.AsyncBaseTransport | None = None,
        rekor_keys: RekorKeys | None = None,
        wall_clock: Callable[[], float] = time.time,
        verdict_cache_size: int = 256,
        tag_cache_size: int = 128,
        tag_ttl: float = 300.0,
        default_trusted_root: EmbeddedRoot | None = PUBLIC_GOOD_ROOT,
    ) -> None:
        self._timeout = timeout
        self._transport = transport
        self._http: httpx2.AsyncClient | None = None
        self._deadline = deadline
        self._clock = clock
        self._rekor_keys = rekor_keys
        self._wall_clock = wall_clock
        # Keyless without a ConfigMap verifies against this root (parsed once; None: such a spec fails).
        self._default_root = (
            (
                parse_trusted_root(default_trusted_root.data, source=default_trusted_root.label),
                default_trusted_root.label,
            )
            if default_trusted_root is not None
            else None
        )
        self.verdicts: BoundedCache[_Key, tuple[Verified, float | None]] = BoundedCache(verdict_cache_size, clock=clock)
        """Verdicts and, for keyless verdicts checked at the current time, the wall time they end at."""
        self.tags: BoundedCache[tuple[str, str, str, str], str] = BoundedCache(tag_cache_size, ttl=tag_ttl, clock=clock)
        self.registry_requests = 0
        """Registry requests sent so far (tests show caches and disabled verification send none)."""

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> ImageVerifier:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def verify(
        self,
        image: str,
        config: ImageVerificationConfig | None,
        *,
        pull_secrets: Sequence[Mapping[str, bytes | str]] = (),
        trusted_root: bytes | str | None = None,
    ) -> Verdict:
        """Verify ``image`` (the exact string the StatefulSet would get) as ``config`` asks.

        ``pull_secrets`` are the decoded ``data`` maps of the Secrets named in
        ``config.imagePullSecrets`` (keys `.dockerconfigjson` or `.dockercfg`), in that order.
        ``trusted_root`` is the `trusted_root.json` of ``config.trustedRootConfigMapRef`` (keyless uses it
        instead of the embedded public-good root; with a key its Rekor keys check the transparency log).
        """
        if config is None or not config.enabled:
            return NotRequired(image=image)
        try:
            ref = parse_reference(image)
            who = self._signer(config, trusted_root)
            keychain = keychain_from_secrets(pull_secrets)
        except ImageSigError as exc:
            return Failed(reason=exc.reason, message=exc.message, image=image)
        client = RegistryClient(self._client(), keychain=keychain, clock=self._clock)
        state = _Progress()
        try:
            async with asyncio.timeout(self._deadline):
                return await self._verify(ref, image, who, not config.ignore_tlog, client, keychain, state)
        except TimeoutError:
            return Failed(
                reason=FailureReason.REGISTRY_UNAVAILABLE,
                message=f"verification of {image} did not finish within {self._deadline:g}s",
                image=image,
                digest=state.digest,
            )
        except ImageSigError as exc:
            return Failed(reason=exc.reason, message=exc.message, image=image, digest=state.digest)
        finally:
            self.registry_requests += client.requests

    def _signer(self, config: ImageVerificationConfig, trusted_root: bytes | str | None) -> _Signer:
        """The key or identity to verify with; raises :class:`InvalidConfiguration` naming the field."""
        root: TrustedRoot | None = None
        if trusted_root is not None:
            source = f"spec.imageVerification.trustedRootConfigMapRef (key {TRUSTED_ROOT_KEY})"
            root = parse_trusted_root(trusted_root, source=source)
        # The cluster's trusted root, when given, names the Rekor keys; else the operator's own.
        rekor_keys = root.rekor_keys if root is not None else self._rekor_keys
        rekor_id = root.fingerprint if root is not None else "operator"
        if config.public_key:
            key = load_public_key(config.public_key)
            # sha256: + 16 hex, as the reference names keys
            return _Signer(f"key {key.fingerprint[:23]}", key, key.fingerprint, rekor_keys, rekor_id)
        if config.issuer and config.subject:
            if root is not None:
                root_label = f"the trusted root of spec.imageVerification.trustedRootConfigMapRef ({root.fingerprint})"
            elif self._default_root is not None:
                root, root_label = self._default_root
                rekor_keys, rekor_id = root.rekor_keys, root.fingerprint
            if root is None:
                raise InvalidConfiguration(
                    "keyless verification (issuer and subject) needs spec.imageVerification.trustedRootConfigMapRef: "
                    f"a ConfigMap whose key {TRUSTED_ROOT_KEY} is the Sigstore trusted root"
                )
            if not root.authorities:
                raise InvalidConfiguration(
                    f"spec.imageVerification.trustedRootConfigMapRef: {TRUSTED_ROOT_KEY} has no certificateAuthorities"
                )
            policy = KeylessPolicy(
                root=root,
                identity=Identity(issuer=config.issuer, subject=config.subject),
                now=dt.datetime.fromtimestamp(self._wall_clock(), dt.UTC),
            )
            cache_id = f"oidc:{config.issuer}|{config.subject}@{root.fingerprint}"
            signer = f"oidc {config.issuer}|{config.subject}, trusted root: {root_label}"
            return _Signer(signer, policy, cache_id, rekor_keys, rekor_id)
        raise InvalidConfiguration("spec.imageVerification needs publicKey, or issuer and subject")

    def _client(self) -> httpx2.AsyncClient:
        if self._http is None:
            self._http = new_http_client(timeout=self._timeout, transport=self._transport)
        return self._http

    async def _verify(
        self,
        ref: ImageReference,
        image: str,
        who: _Signer,
        require_tlog: bool,
        client: RegistryClient,
        keychain: Keychain,
        state: _Progress,
    ) -> Verdict:
        credential = keychain.lookup(ref.registry, ref.repository)
        cred_id = credential.fingerprint() if credential else "anonymous"
        if ref.digest:
            digest = ref.digest
        else:
            tag_key = (ref.registry, ref.repository, ref.reference, cred_id)
            cached_digest = self.tags.get(tag_key)
            if cached_digest is None:
                cached_digest = await client.resolve(ref)
                self.tags.put(tag_key, cached_digest)
            digest = cached_digest
        state.digest = digest
        cache_key = _Key(ref.registry, ref.repository, digest, who.cache_id, require_tlog, who.rekor_id, cred_id)
        hit = self.verdicts.get(cache_key)
        if hit is not None and (hit[1] is None or self._wall_clock() <= hit[1]):
            return Verified(
                image=ref.pinned(digest),
                digest=digest,
                signer=who.name,
                signature_format=hit[0].signature_format,
                cached=True,
            )

        checks: list[tuple[SignatureFormat, SignatureCheck]] = []
        for fmt, check in await self._v2_checks(ref, digest, who, require_tlog, client):
            checks.append((fmt, check))
            if check.ok:
                break
        if not any(c.ok for _, c in checks):
            checks += await self._bundle_checks(ref, digest, who, require_tlog, client)
        for fmt, check in checks:
            if check.ok:
                verdict = Verified(image=ref.pinned(digest), digest=digest, signer=who.name, signature_format=fmt)
                # A keyless verdict checked at the current time ends with its certificate.
                ends = check.valid_until.timestamp() if check.valid_until is not None else None
                self.verdicts.put(cache_key, (verdict, ends))
                return verdict
        if not checks:
            return Failed(
                reason=FailureReason.NO_SIGNATURES,
                message=f"{ref.name}@{digest} has no cosign signature (no {tag_schema_tag(digest)}{SIG_TAG_SUFFIX} tag "
                "and no Sigstore bundle referrer)",
                image=image,
                digest=digest,
            )
        worst = min((c for _, c in checks), key=lambda c: _FAILURE_RANK.get(c.reason or FailureReason.NO_SIGNATURES, 9))
        return Failed(
            reason=worst.reason or FailureReason.SIGNATURE_MISMATCH,
            message=f"{ref.name}@{digest}: {len(checks)} signature(s) found, none accepted for {who.name}: "
            f"{worst.message}",
            image=image,
            digest=digest,
        )

    async def _v2_checks(
        self, ref: ImageReference, digest: str, who: _Signer, require_tlog: bool, client: RegistryClient
    ) -> list[tuple[SignatureFormat, SignatureCheck]]:
        try:
            manifest = await client.get_manifest(ref, tag_schema_tag(digest) + SIG_TAG_SUFFIX)
        except NotFound:
            return []
        out: list[tuple[SignatureFormat, SignatureCheck]] = []
        layers = [d for d in manifest.layers if d.media_type == SIMPLESIGNING_MEDIA_TYPE][:MAX_SIGNATURES]
        for layer in layers:
            try:
                payload = await client.get_blob(ref, layer)
            except RegistryUnavailable:
                raise
            except (RegistryProtocolError, NotFound) as exc:
                out.append(
                    ("cosign-v2", SignatureCheck(FailureReason.REGISTRY_PROTOCOL_ERROR, f"a .sig layer: {exc.message}"))
                )
                continue
            check = check_simple_signing(
                payload=payload,
                signature_b64=layer.annotation(SIGNATURE_ANNOTATION),
                signer=who.policy,
                digest=digest,
                certificate=layer.annotation(CERTIFICATE_ANNOTATION),
                rekor_bundle=layer.annotation(REKOR_BUNDLE_ANNOTATION),
                require_tlog=require_tlog,
                rekor_keys=who.rekor_keys,
            )
            out.append(("cosign-v2", check))
            if check.ok:
                break
        return out

    async def _bundle_checks(
        self, ref: ImageReference, digest: str, who: _Signer, require_tlog: bool, client: RegistryClient
    ) -> list[tuple[SignatureFormat, SignatureCheck]]:
        out: list[tuple[SignatureFormat, SignatureCheck]] = []
        referrers = await client.referrers(ref, digest, artifact_type=BUNDLE_ARTIFACT_TYPE)
        for descriptor in referrers[:MAX_SIGNATURES]:
            try:
                manifest = await client.get_manifest(ref, descriptor.digest)
                layers = [d for d in manifest.layers if d.media_type in BUNDLE_MEDIA_TYPES]
                subject = manifest.doc.get("subject")
                if isinstance(subject, dict) and subject.get("digest") != digest:
                    raise RegistryProtocolError(f"referrer {descriptor.digest} has another subject")
                if not layers:
                    raise RegistryProtocolError(f"referrer {descriptor.digest} holds no bundle layer")
                bundle = await client.get_blob(ref, layers[0])
            except RegistryUnavailable:
                raise
            except (RegistryProtocolError, NotFound) as exc:
                out.append(
                    (
                        "sigstore-bundle",
                        SignatureCheck(FailureReason.REGISTRY_PROTOCOL_ERROR, f"a bundle: {exc.message}"),
                    )
                )
                continue
            check = check_bundle(
                bundle=bundle, signer=who.policy, digest=digest, require_tlog=require_tlog, rekor_keys=who.rekor_keys
            )
            out.append(("sigstore-bundle", check))
            if check.ok:
                break
        return out


@dataclass
class _Progress:
    digest: str | None = None


@dataclass(frozen=True)
class _Signer:
    """Who must have signed, as one verification needs it."""

    name: str
    """For messages: `key sha256:<16 hex>` or `oidc <issuer>|<subject>` (the reference's cache naming)."""
    policy: SignerPolicy
    cache_id: str
    rekor_keys: RekorKeys | None
    rekor_id: str
