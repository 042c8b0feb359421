"""Registry faults the real loopback registry cannot produce on demand, injected at httpx2's transport.

Why a transport handler here and not in the integration tier: a lying Docker-Content-Digest, a blob
whose bytes do not match its digest, a token service, an OCI 1.1 referrers API (distribution 2.8 has
none), a 503 or a timeout are registry behaviours the Debian registry never shows. The happy paths and
cosign's real artifacts are covered against the real registry in tests/integration/test_imagesig_registry.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from openbao_operator.api.workload import ImageVerificationConfig
from openbao_operator.imagesig import Failed, FailureReason, ImageVerifier, Verified, decide
from openbao_operator.imagesig.auth import keychain_from_secrets
from openbao_operator.imagesig.errors import (
    DigestMismatch,
    NotFound,
    RegistryAuthFailed,
    RegistryProtocolError,
    RegistryUnavailable,
)
from openbao_operator.imagesig.reference import parse_reference
from openbao_operator.imagesig.registry import (
    MANIFEST_ACCEPT,
    MAX_REFERRER_PAGES,
    Descriptor,
    RegistryClient,
    new_http_client,
)
from tests.unit.imagesig.canned import Signer, bundle, simple_signing_payload, statement

Handler = Callable[[httpx2.Request], httpx2.Response]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}).encode()
DIGEST = sha(MANIFEST)


class Registry:
    """A dictionary of canned responses by path (the transport side of a fault injection)."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[httpx2.Request], httpx2.Response]] = {}
        self.seen: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append(request)
        route = self.routes.get(request.url.path) or self.routes.get(str(request.url))
        if route is None:
            return httpx2.Response(404, json={"errors": [{"code": "NOT_FOUND"}]})
        return route(request)

    def manifest(self, path: str, body: bytes, *, headers: dict[str, str] | None = None) -> None:
        self.routes[path] = lambda _r: httpx2.Response(
            200, content=body, headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json", **(headers or {})}
        )

    def blob(self, repo: str, data: bytes) -> Descriptor:
        self.routes[f"/v2/{repo}/blobs/{sha(data)}"] = lambda _r: httpx2.Response(200, content=data)
        return Descriptor(media_type="application/octet-stream", digest=sha(data), size=len(data))


def client(handler: Handler, **kw: Any) -> RegistryClient:
    return RegistryClient(new_http_client(transport=httpx2.MockTransport(handler)), **kw)


# -- manifests and digests -------------------------------------------------------------------------


async def test_tag_resolution_rehashes_the_body_and_sends_oci_and_docker_accept_headers() -> None:
    reg = Registry()
    reg.manifest("/v2/team/app/manifests/v1", MANIFEST, headers={"Docker-Content-Digest": DIGEST})
    c = client(reg)
    assert await c.resolve(parse_reference("quay.io/team/app:v1")) == DIGEST
    request = reg.seen[0]
    assert str(request.url) == "https://quay.io/v2/team/app/manifests/v1"  # https for non-loopback registries
    assert request.headers["accept"] == MANIFEST_ACCEPT
    for media_type in ("oci.image.index", "oci.image.manifest", "manifest.list.v2", "distribution.manifest.v2"):
        assert media_type in request.headers["accept"]


async def test_a_lying_docker_content_digest_is_refused() -> None:
    reg = Registry()
    reg.manifest("/v2/team/app/manifests/v1", MANIFEST, headers={"Docker-Content-Digest": sha(b"other")})
    with pytest.raises(DigestMismatch, match="Docker-Content-Digest"):
        await client(reg).resolve(parse_reference("quay.io/team/app:v1"))


async def test_a_manifest_fetched_by_digest_must_hash_to_it() -> None:
    reg = Registry()
    wanted = sha(b"what we asked for")
    reg.manifest(f"/v2/team/app/manifests/{wanted}", MANIFEST)
    with pytest.raises(DigestMismatch):
        await client(reg).resolve(parse_reference(f"quay.io/team/app@{wanted}"))


async def test_blobs_are_checked_against_digest_and_size() -> None:
    reg = Registry()
    ref = parse_reference("quay.io/team/app:v1")
    good = reg.blob("team/app", b"payload")
    c = client(reg)
    assert await c.get_blob(ref, good) == b"payload"
    reg.routes[f"/v2/team/app/blobs/{good.digest}"] = lambda _r: httpx2.Response(200, content=b"pAyload")
    with pytest.raises(DigestMismatch):
        await c.get_blob(ref, good)
    reg.routes[f"/v2/team/app/blobs/{good.digest}"] = lambda _r: httpx2.Response(200, content=b"payload+more")
    with pytest.raises(RegistryProtocolError):
        await c.get_blob(ref, good)
    with pytest.raises(RegistryProtocolError, match="limit"):
        await c.get_blob(ref, Descriptor(media_type="x", digest=good.digest, size=10**9))


async def test_oversized_and_malformed_manifests_are_protocol_errors() -> None:
    reg = Registry()
    reg.manifest("/v2/a/manifests/big", b"{" + b" " * (5 * 1024 * 1024) + b"}")
    reg.manifest("/v2/a/manifests/text", b"hello")
    reg.manifest("/v2/a/manifests/list", b"[1]")
    c = client(reg)
    ref = parse_reference("quay.io/a")
    for tag in ("big", "text", "list"):
        with pytest.raises(RegistryProtocolError):
            await c.get_manifest(ref, tag)


# -- status and transport translation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, NotFound),
        (403, RegistryAuthFailed),
        (429, RegistryUnavailable),
        (503, RegistryUnavailable),
        (418, RegistryProtocolError),
    ],
)
async def test_statuses_are_translated_once(status: int, error: type[Exception]) -> None:
    c = client(lambda _r: httpx2.Response(status))
    with pytest.raises(error):
        await c.resolve(parse_reference("quay.io/a:v1"))


@pytest.mark.parametrize(
    "exc", [httpx2.ConnectError("refused"), httpx2.ReadTimeout("slow"), httpx2.RemoteProtocolError("eof")]
)
async def test_transport_failures_mean_the_registry_is_unavailable(exc: Exception) -> None:
    def fail(_r: httpx2.Request) -> httpx2.Response:
        raise exc

    with pytest.raises(RegistryUnavailable):
        await client(fail).resolve(parse_reference("quay.io/a:v1"))


# -- auth ------------------------------------------------------------------------------------------


def pull_secret(host: str, user: str, password: str) -> dict[str, bytes]:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {".dockerconfigjson": json.dumps({"auths": {host: {"auth": auth}}}).encode()}


async def test_bearer_challenge_fetches_a_token_with_the_pull_secret_and_reuses_it() -> None:
    reg = Registry()
    expected_basic = "Basic " + base64.b64encode(b"robot:pw-123").decode()

    def manifest(request: httpx2.Request) -> httpx2.Response:
        if request.headers.get("authorization") != "Bearer tok-1":
            return httpx2.Response(
                401,
                headers={
                    "WWW-Authenticate": 'Bearer realm="https://auth.example/token",service="reg.example",'
                    'scope="repository:team/app:pull"'
                },
            )
        return httpx2.Response(200, content=MANIFEST)

    def token(request: httpx2.Request) -> httpx2.Response:
        assert request.url.params["service"] == "reg.example"
        assert request.url.params["scope"] == "repository:team/app:pull"
        if request.headers.get("authorization") != expected_basic:
            return httpx2.Response(401)
        return httpx2.Response(200, json={"token": "tok-1", "expires_in": 300})

    reg.routes["/v2/team/app/manifests/v1"] = manifest
    reg.routes["/v2/team/app/manifests/v2"] = manifest
    reg.routes["/token"] = token
    ref = parse_reference("reg.example/team/app:v1")
    c = client(reg, keychain=keychain_from_secrets([pull_secret("reg.example", "robot", "pw-123")]))
    assert await c.resolve(ref) == DIGEST
    assert await c.get_manifest(ref, "v2")
    paths = [r.url.path for r in reg.seen]
    assert paths == ["/v2/team/app/manifests/v1", "/token", "/v2/team/app/manifests/v1", "/v2/team/app/manifests/v2"]
    assert "authorization" not in reg.seen[0].headers

    # Wrong credentials: the token service refuses, and nothing secret is in the message.
    bad = client(reg, keychain=keychain_from_secrets([pull_secret("reg.example", "robot", "nope-456")]))
    with pytest.raises(RegistryAuthFailed) as info:
        await bad.resolve(ref)
    assert "nope-456" not in str(info.value)
    assert "robot" not in str(info.value)


async def test_token_realm_must_be_https_unless_loopback() -> None:
    challenge = {"WWW-Authenticate": 'Bearer realm="http://auth.example/token",service="x"'}
    c = client(lambda _r: httpx2.Response(401, headers=challenge))
    with pytest.raises(RegistryAuthFailed, match="https"):
        await c.resolve(parse_reference("reg.example/a:v1"))


async def test_basic_challenge_without_credentials_says_which_registry() -> None:
    c = client(lambda _r: httpx2.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'}))
    with pytest.raises(RegistryAuthFailed, match=r"reg\.example"):
        await c.resolve(parse_reference("reg.example/a:v1"))


# -- referrers -------------------------------------------------------------------------------------


def referrer_index(*entries: dict[str, Any]) -> bytes:
    return json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": list(entries)}
    ).encode()


def bundle_referrer(reg: Registry, repo: str, subject: str, bundle_bytes: bytes) -> dict[str, Any]:
    layer = reg.blob(repo, bundle_bytes)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha(b"{}"), "size": 2},
            "layers": [
                {
                    "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                    "digest": layer.digest,
                    "size": layer.size,
                }
            ],
            "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject, "size": 1},
        }
    ).encode()
    reg.manifest(f"/v2/{repo}/manifests/{sha(manifest)}", manifest)
    return {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": sha(manifest),
        "size": len(manifest),
        "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
    }


def key_config(signer: Signer) -> ImageVerificationConfig:
    return ImageVerificationConfig.model_validate({"enabled": True, "publicKey": signer.public_pem, "ignoreTlog": True})


async def test_the_oci_referrers_api_is_used_when_the_registry_has_it() -> None:
    signer = Signer.new()
    reg = Registry()
    reg.manifest("/v2/team/app/manifests/v1", MANIFEST)
    good = bundle_referrer(reg, "team/app", DIGEST, bundle(signer, statement(DIGEST)))
    attestation = dict(good, artifactType="application/vnd.in-toto+json", digest=sha(b"ignored"))
    reg.routes[f"/v2/team/app/referrers/{DIGEST}"] = lambda _r: httpx2.Response(
        200,
        content=referrer_index(attestation, good),
        headers={"Content-Type": "application/vnd.oci.image.index.v1+json"},
    )
    async with ImageVerifier(transport=httpx2.MockTransport(reg)) as verifier:
        verdict = await verifier.verify("reg.example/team/app:v1", key_config(signer))
    assert isinstance(verdict, Verified), verdict
    assert verdict.signature_format == "sigstore-bundle"
    assert verdict.image == f"reg.example/team/app@{DIGEST}"
    referrers = [r for r in reg.seen if "/referrers/" in r.url.path]
    assert referrers[0].url.params["artifactType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert not any(sha(b"ignored") in r.url.path for r in reg.seen)  # filtered out client-side too


def paged_referrers(reg: Registry, pages: list[bytes], *, link: Callable[[int], str]) -> None:
    """The referrers API answering page ``n`` (query ``last=<n>``) with a Link to the next one."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        n = int(request.url.params.get("last", "0"))
        headers = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
        if n + 1 < len(pages):
            headers["Link"] = link(n + 1)
        return httpx2.Response(200, content=pages[n], headers=headers)

    reg.routes[f"/v2/team/app/referrers/{DIGEST}"] = answer


async def test_paginated_referrers_are_followed_through_the_link_header() -> None:
    signer = Signer.new()
    reg = Registry()
    reg.manifest("/v2/team/app/manifests/v1", MANIFEST)
    good = bundle_referrer(reg, "team/app", DIGEST, bundle(signer, statement(DIGEST)))
    attestation = dict(good, artifactType="application/vnd.in-toto+json", digest=sha(b"ignored"))
    paged_referrers(
        reg,
        [referrer_index(attestation), referrer_index(good)],
        link=lambda n: f'</v2/team/app/referrers/{DIGEST}?n=1&last={n}>; rel="next"',
    )
    async with ImageVerifier(transport=httpx2.MockTransport(reg)) as verifier:
        verdict = await verifier.verify("reg.example/team/app:v1", key_config(signer))
    assert isinstance(verdict, Verified), verdict
    assert verdict.signature_format == "sigstore-bundle"
    pages = [r for r in reg.seen if "/referrers/" in r.url.path]
    assert [p.url.params.get("last") for p in pages] == [None, "1"]


async def test_referrer_pages_are_bounded() -> None:
    reg = Registry()
    empty = referrer_index()
    paged_referrers(reg, [empty] * 50, link=lambda n: f'<?last={n}>; rel="next"')  # relative, same path
    found = await client(reg).referrers(parse_reference("quay.io/team/app"), DIGEST)
    assert found == []
    assert len([r for r in reg.seen if "/referrers/" in r.url.path]) == MAX_REFERRER_PAGES


@pytest.mark.parametrize(
    "link",
    [
        f'<https://elsewhere.example/v2/team/app/referrers/{DIGEST}?last=1>; rel="next"',
        f'<http://quay.io/v2/team/app/referrers/{DIGEST}?last=1>; rel="next"',  # downgraded scheme
        '</v2/other/repo/referrers/x?last=1>; rel="next"',
        '</token?last=1>; rel="next"',
    ],
)
async def test_a_next_page_outside_the_repository_is_refused(link: str) -> None:
    reg = Registry()
    paged_referrers(reg, [referrer_index(), referrer_index()], link=lambda _n: link)
    with pytest.raises(RegistryProtocolError, match="leaves the repository"):
        await client(reg).referrers(parse_reference("quay.io/team/app"), DIGEST)
    assert len(reg.seen) == 1


async def test_a_referrer_whose_subject_is_another_image_is_not_accepted() -> None:
    signer = Signer.new()
    reg = Registry()
    other = sha(b"other image")
    entry = bundle_referrer(reg, "team/app", other, bundle(signer, statement(DIGEST)))
    reg.manifest(f"/v2/team/app/manifests/{DIGEST.replace(':', '-')}", referrer_index(entry))
    async with ImageVerifier(transport=httpx2.MockTransport(reg)) as verifier:
        verdict = await verifier.verify(f"reg.example/team/app@{DIGEST}", key_config(signer))
    assert isinstance(verdict, Failed), verdict
    assert verdict.reason is FailureReason.REGISTRY_PROTOCOL_ERROR


async def test_a_corrupted_signature_blob_is_skipped_and_a_good_one_still_verifies() -> None:
    """An attacker who can push cannot hide a valid signature behind a broken one."""
    signer = Signer.new()
    reg = Registry()
    payload = simple_signing_payload(DIGEST)
    sig = base64.b64encode(signer.sign(payload)).decode()
    broken = Descriptor(media_type="x", digest=sha(b"missing"), size=7)
    good = reg.blob("team/app", payload)
    layers = [
        {
            "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "digest": d.digest,
            "size": d.size,
            "annotations": {"dev.cosignproject.cosign/signature": sig},
        }
        for d in (broken, good)
    ]
    reg.manifest(
        f"/v2/team/app/manifests/{DIGEST.replace(':', '-')}.sig",
        json.dumps(
            {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": layers}
        ).encode(),
    )
    async with ImageVerifier(transport=httpx2.MockTransport(reg)) as verifier:
        verdict = await verifier.verify(f"reg.example/team/app@{DIGEST}", key_config(signer))
    assert isinstance(verdict, Verified), verdict
    assert verdict.signature_format == "cosign-v2"


# -- the verifier's boundaries ---------------------------------------------------------------------


def no_network(request: httpx2.Request) -> httpx2.Response:
    raise AssertionError(f"unexpected registry call {request.url}")


async def test_verification_off_makes_no_registry_call() -> None:
    async with ImageVerifier(transport=httpx2.MockTransport(no_network)) as verifier:
        for config in (None, ImageVerificationConfig.model_validate({"enabled": False, "publicKey": "x"})):
            verdict = await verifier.verify("quay.io/a:v1", config)
            assert decide(verdict, "Block").image == "quay.io/a:v1"
        assert verifier.registry_requests == 0


@pytest.mark.parametrize(
    ("image", "config", "reason"),
    [
        ("Not A Ref", {"enabled": True, "publicKey": "x"}, FailureReason.INVALID_REFERENCE),
        ("quay.io/a:v1", {"enabled": True, "publicKey": "not pem"}, FailureReason.INVALID_CONFIGURATION),
        # keyless without any trusted root (none embedded in this verifier, none given)
        ("quay.io/a:v1", {"enabled": True, "issuer": "https://i", "subject": "s"}, FailureReason.INVALID_CONFIGURATION),
    ],
)
async def test_configuration_problems_fail_before_any_registry_call(
    image: str, config: dict[str, Any], reason: FailureReason
) -> None:
    async with ImageVerifier(transport=httpx2.MockTransport(no_network), default_trusted_root=None) as verifier:
        verdict = await verifier.verify(image, ImageVerificationConfig.model_validate(config))
    assert isinstance(verdict, Failed), verdict
    assert verdict.reason is reason
    assert not decide(verdict, "Block").apply


async def test_a_malformed_pull_secret_fails_without_a_registry_call() -> None:
    signer = Signer.new()
    async with ImageVerifier(transport=httpx2.MockTransport(no_network)) as verifier:
        verdict = await verifier.verify("quay.io/a:v1", key_config(signer), pull_secrets=[{"x": b"y"}])
    assert isinstance(verdict, Failed), verdict
    assert verdict.reason is FailureReason.INVALID_CONFIGURATION


async def test_the_overall_deadline_bounds_a_slow_registry() -> None:
    import asyncio

    class Slow(httpx2.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            await asyncio.sleep(10)
            return httpx2.Response(200)

    signer = Signer.new()
    async with ImageVerifier(transport=Slow(), deadline=0.05) as verifier:
        verdict = await verifier.verify("quay.io/a:v1", key_config(signer))
    assert isinstance(verdict, Failed), verdict
    assert verdict.reason is FailureReason.REGISTRY_UNAVAILABLE
    assert decide(verdict, "Block").retry


@pytest.mark.parametrize("status", [400, 404, 405, 406, 501])
async def test_a_missing_referrers_api_falls_back_to_the_tag_schema(status: int) -> None:
    reg = Registry()
    entry = {
        "mediaType": "m",
        "digest": sha(b"r"),
        "size": 1,
        "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
    }
    reg.routes[f"/v2/a/referrers/{DIGEST}"] = lambda _r: httpx2.Response(status)
    reg.manifest(f"/v2/a/manifests/{DIGEST.replace(':', '-')}", referrer_index(entry))
    found = await client(reg).referrers(parse_reference("quay.io/a"), DIGEST)
    assert [d.digest for d in found] == [sha(b"r")]


@pytest.mark.parametrize(("status", "error"), [(503, RegistryUnavailable), (403, RegistryAuthFailed)])
async def test_an_outage_of_the_referrers_api_is_not_a_missing_api(status: int, error: type[Exception]) -> None:
    reg = Registry()
    reg.routes[f"/v2/a/referrers/{DIGEST}"] = lambda _r: httpx2.Response(status)
    with pytest.raises(error):
        await client(reg).referrers(parse_reference("quay.io/a"), DIGEST)
