"""Registry credentials from pull-secret data (`.dockerconfigjson` or the legacy `.dockercfg`).

Why here and as plain data: imagesig never reads Kubernetes objects; the controller reads the Secrets
named in spec.imageVerification.imagePullSecrets and passes their (base64-decoded) `data` maps. The
credentials are kept in a type whose repr hides them, matched to a registry the way the kubelet does
(host, `*.` wildcard on the first label, optional path prefix), and never appear in a message.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidConfiguration
from .reference import DOCKER_HUB_API

DOCKERCONFIGJSON_KEY = ".dockerconfigjson"
DOCKERCFG_KEY = ".dockercfg"
_HUB_KEYS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})


@dataclass(frozen=True)
class Credential:
    """Basic credentials or a registry token for one registry; repr and str reveal neither."""

    username: str = field(repr=False, default="")
    password: str = field(repr=False, default="")
    registry_token: str = field(repr=False, default="")

    def fingerprint(self) -> str:
        """A short one-way identity of these credentials, to keep cache entries of tenants apart."""
        raw = "\0".join((self.username, self.password, self.registry_token)).encode()
        return hashlib.sha256(raw).hexdigest()[:16]

    def __str__(self) -> str:
        return "Credential(<redacted>)"


@dataclass(frozen=True)
class _Entry:
    host_pattern: str
    path_prefix: str
    credential: Credential


@dataclass(frozen=True)
class Keychain:
    """Credentials from pull secrets, in the order given; the first match for a registry wins."""

    entries: tuple[_Entry, ...] = ()

    def lookup(self, registry: str, repository: str = "") -> Credential | None:
        """The credential for ``registry`` (host[:port]) and ``repository``, if any secret has one."""
        host = _canonical_host(registry)
        for entry in self.entries:
            if not _host_matches(entry.host_pattern, host):
                continue
            if entry.path_prefix and not (
                repository == entry.path_prefix or repository.startswith(entry.path_prefix.rstrip("/") + "/")
            ):
                continue
            return entry.credential
        return None

    def __repr__(self) -> str:
        return f"Keychain({len(self.entries)} entries)"


def keychain_from_secrets(secrets: Sequence[Mapping[str, bytes | str]]) -> Keychain:
    """Build a keychain from the decoded ``data`` maps of dockerconfigjson / dockercfg Secrets.

    Raises :class:`InvalidConfiguration` (naming the key, never a value) when a Secret has neither key
    or holds malformed JSON.
    """
    entries: list[_Entry] = []
    for index, data in enumerate(secrets):
        if DOCKERCONFIGJSON_KEY in data:
            doc = _load_json(data[DOCKERCONFIGJSON_KEY], index, DOCKERCONFIGJSON_KEY)
            auths = doc.get("auths", {})
        elif DOCKERCFG_KEY in data:
            auths = _load_json(data[DOCKERCFG_KEY], index, DOCKERCFG_KEY)
        else:
            raise InvalidConfiguration(
                f"imagePullSecrets[{index}] has neither {DOCKERCONFIGJSON_KEY} nor {DOCKERCFG_KEY}"
            )
        if not isinstance(auths, dict):
            raise InvalidConfiguration(f"imagePullSecrets[{index}]: 'auths' is not an object")
        for key, value in auths.items():
            if not isinstance(value, dict):
                continue
            credential = _credential(value)
            if credential is None:
                continue
            host, path = _split_key(str(key))
            entries.append(_Entry(host_pattern=host, path_prefix=path, credential=credential))
    return Keychain(tuple(entries))


def _load_json(raw: bytes | str, index: int, key: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidConfiguration(f"imagePullSecrets[{index}] {key} is not valid JSON") from None
    if not isinstance(doc, dict):
        raise InvalidConfiguration(f"imagePullSecrets[{index}] {key} is not a JSON object")
    return doc


def _credential(value: dict[str, Any]) -> Credential | None:
    username = value.get("username") or ""
    password = value.get("password") or ""
    auth = value.get("auth") or ""
    if auth and isinstance(auth, str):
        try:
            decoded = base64.b64decode(auth, validate=False).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        if ":" in decoded:
            username, password = decoded.split(":", 1)
    token = value.get("registrytoken") or ""
    if not all(isinstance(v, str) for v in (username, password, token)):
        return None
    if not (username or password or token):
        return None
    return Credential(username=username, password=password, registry_token=token)


def _split_key(key: str) -> tuple[str, str]:
    text = key.strip()
    for scheme in ("https://", "http://"):
        if text.lower().startswith(scheme):
            text = text[len(scheme) :]
    host, _, path = text.partition("/")
    host = _canonical_host(host)
    if host == DOCKER_HUB_API:
        path = ""  # "https://index.docker.io/v1/" names the Hub, not a repository prefix
    return host, path.strip("/")


def _canonical_host(host: str) -> str:
    host = host.lower()
    return DOCKER_HUB_API if host in _HUB_KEYS else host


def _host_matches(pattern: str, host: str) -> bool:
    if pattern == host:
        return True
    if "*" not in pattern:
        return False
    # The kubelet's rule: a glob per dot-separated label, same number of labels, ports equal.
    p_host, _, p_port = pattern.partition(":")
    h_host, _, h_port = host.partition(":")
    if p_port != h_port:
        return False
    p_labels, h_labels = p_host.split("."), h_host.split(".")
    return len(p_labels) == len(h_labels) and all(
        fnmatch.fnmatchcase(h, p) for p, h in zip(p_labels, h_labels, strict=True)
    )
