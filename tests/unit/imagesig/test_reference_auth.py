"""Image reference parsing and pull-secret keychains."""

from __future__ import annotations

import base64
import json

import pytest

from openbao_operator.imagesig.auth import Credential, keychain_from_secrets
from openbao_operator.imagesig.errors import InvalidConfiguration, InvalidReference
from openbao_operator.imagesig.reference import is_loopback_host, parse_reference

D = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest", "name"),
    [
        ("openbao", "registry-1.docker.io", "library/openbao", None, None, "openbao"),
        ("openbao/openbao:2.4.0", "registry-1.docker.io", "openbao/openbao", "2.4.0", None, "openbao/openbao"),
        (
            "docker.io/openbao/openbao",
            "registry-1.docker.io",
            "openbao/openbao",
            None,
            None,
            "docker.io/openbao/openbao",
        ),
        ("index.docker.io/nginx:1", "registry-1.docker.io", "library/nginx", "1", None, "index.docker.io/nginx"),
        ("quay.io/openbao/openbao:2.4", "quay.io", "openbao/openbao", "2.4", None, "quay.io/openbao/openbao"),
        ("localhost:5000/a/b/c:v1", "localhost:5000", "a/b/c", "v1", None, "localhost:5000/a/b/c"),
        ("localhost/app", "localhost", "app", None, None, "localhost/app"),
        ("127.0.0.1:5000/app@" + D, "127.0.0.1:5000", "app", None, D, "127.0.0.1:5000/app"),
        ("ghcr.io/o/r:t@" + D, "ghcr.io", "o/r", "t", D, "ghcr.io/o/r"),
        ("[::1]:5000/app:v1", "[::1]:5000", "app", "v1", None, "[::1]:5000/app"),
        (
            "my-reg.example:443/x__y/a.b-c:T_1.0-rc",
            "my-reg.example:443",
            "x__y/a.b-c",
            "T_1.0-rc",
            None,
            "my-reg.example:443/x__y/a.b-c",
        ),
    ],
)
def test_references_parse_like_docker(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None, name: str
) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest, ref.name) == (registry, repository, tag, digest, name)
    assert str(ref) == text
    assert ref.pinned(D) == f"{name}@{D}"
    assert ref.reference == (digest or tag or "latest")


@pytest.mark.parametrize(
    "text",
    [
        "",
        " openbao",
        "OpenBao/openbao",
        "openbao:",
        "openbao@sha256:abc",
        "openbao@md5:" + "a" * 32,
        "quay.io/",
        "a//b",
        "a:" + "t" * 200,
        "bad_host.example:99999999/x",
        "x/" * 200 + "y",
    ],
)
def test_invalid_references_are_refused_with_the_reason(text: str) -> None:
    with pytest.raises(InvalidReference):
        parse_reference(text)


def test_plain_http_only_for_loopback_registries() -> None:
    for host in ("localhost", "localhost:5000", "reg.localhost:1", "127.0.0.1:5000", "127.8.9.1", "[::1]:5000", "::1"):
        assert is_loopback_host(host), host
    for host in ("quay.io", "10.0.0.1:5000", "localhost.example.com", "[2001:db8::1]:5000", "registry-1.docker.io"):
        assert not is_loopback_host(host), host
    assert parse_reference("127.0.0.1:5000/a").plain_http
    assert not parse_reference("quay.io/a").plain_http


def dockerconfigjson(auths: dict[str, dict[str, str]]) -> dict[str, bytes]:
    return {".dockerconfigjson": json.dumps({"auths": auths}).encode()}


def basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_keychain_matches_registries_like_the_kubelet() -> None:
    keychain = keychain_from_secrets(
        [
            dockerconfigjson(
                {
                    "https://index.docker.io/v1/": {"auth": basic("hub", "hubpw")},
                    "quay.io/team-a": {"username": "a", "password": "apw"},
                    "quay.io": {"auth": basic("q", "qpw")},
                    "*.example.com:5000": {"auth": basic("w", "wpw")},
                    "http://localhost:5000": {"registrytoken": "tok"},
                    "empty.example": {},
                }
            ),
            {".dockercfg": json.dumps({"ghcr.io": {"auth": basic("g", "gpw")}}).encode()},
        ]
    )
    assert keychain.lookup("registry-1.docker.io") == Credential("hub", "hubpw")
    assert keychain.lookup("quay.io", "team-a/app") == Credential("a", "apw")
    assert keychain.lookup("quay.io", "team-b/app") == Credential("q", "qpw")
    assert keychain.lookup("reg.example.com:5000") == Credential("w", "wpw")
    assert keychain.lookup("reg.example.com") is None
    assert keychain.lookup("a.reg.example.com:5000") is None
    assert keychain.lookup("localhost:5000") == Credential(registry_token="tok")
    assert keychain.lookup("ghcr.io") == Credential("g", "gpw")
    assert keychain.lookup("empty.example") is None
    assert keychain.lookup("elsewhere.io") is None


def test_credentials_never_show_in_repr_or_str() -> None:
    keychain = keychain_from_secrets([dockerconfigjson({"quay.io": {"auth": basic("user", "hunter2-secret")}})])
    cred = keychain.lookup("quay.io")
    assert cred is not None
    for text in (repr(cred), str(cred), repr(keychain), str(keychain)):
        assert "hunter2" not in text
        assert "user" not in text or "Credential" in text
        assert basic("user", "hunter2-secret") not in text
    assert cred.fingerprint() != Credential("user", "other").fingerprint()


@pytest.mark.parametrize(
    "data",
    [
        {"other": b"{}"},
        {".dockerconfigjson": b"not json"},
        {".dockerconfigjson": b"[]"},
        {".dockerconfigjson": b'{"auths": []}'},
    ],
)
def test_malformed_pull_secrets_are_configuration_errors_without_values(data: dict[str, bytes]) -> None:
    with pytest.raises(InvalidConfiguration) as info:
        keychain_from_secrets([data])
    assert "imagePullSecrets[0]" in str(info.value)
    assert "not json" not in str(info.value)
