"""Image references as Kubernetes and the Docker CLI read them: `[registry/]repository[:tag][@digest]`.

Why a parser of our own: the verified image must be written back as `name@sha256:...` in the same
spelling the user gave (so the kubelet resolves the same registry), while registry calls need the
normalised form (`docker.io/openbao/openbao` is `registry-1.docker.io`, repository `openbao/openbao`).
The grammar follows distribution's `reference` package: the first path component is a registry host
only when it contains `.` or `:` or is `localhost`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .errors import InvalidReference

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$"
)
MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class ImageReference:
    """A parsed reference; `name` keeps the user's spelling, `registry`/`repository` are normalised."""

    name: str
    """Everything before the tag or digest, as written (`openbao/openbao`, `quay.io/x/y`)."""
    registry: str
    """Registry host[:port] for API calls (`registry-1.docker.io` for Docker Hub)."""
    repository: str
    """Repository path inside the registry (`library/nginx` for `nginx`)."""
    tag: str | None
    """The tag, if one was written (`latest` is implied only when neither tag nor digest is)."""
    digest: str | None
    """`sha256:<hex>` when the reference pins a digest."""

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag (default `latest`)."""
        return self.digest or self.tag or "latest"

    def pinned(self, digest: str) -> str:
        """`name@digest`: the reference to apply once `digest` is verified (tag dropped on purpose)."""
        return f"{self.name}@{digest}"

    @property
    def plain_http(self) -> bool:
        """Plain HTTP is used only for loopback registries (as go-containerregistry does)."""
        return is_loopback_host(self.registry)

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def is_loopback_host(hostport: str) -> bool:
    """`localhost`, `*.localhost`, 127.0.0.0/8 and ::1, with or without a port."""
    host = hostport
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_reference(text: str) -> ImageReference:
    """Parse an image reference; raises :class:`InvalidReference` saying what is wrong."""
    if not text or text != text.strip():
        raise InvalidReference(f"image reference {text!r} is empty or has surrounding whitespace")
    rest = text
    digest: str | None = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest):
            raise InvalidReference(f"image reference {text!r}: digest must be sha256:<64 hex> or sha512:<128 hex>")
    tag: str | None = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.match(tag):
            raise InvalidReference(f"image reference {text!r}: invalid tag {tag!r}")
    name = rest
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidReference(f"image reference {text!r}: the name is empty or longer than {MAX_NAME_LENGTH}")
    first, sep, remainder = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        if not _HOST.match(first):
            raise InvalidReference(f"image reference {text!r}: invalid registry host {first!r}")
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, name
    for component in path.split("/"):
        if not _COMPONENT.match(component):
            raise InvalidReference(
                f"image reference {text!r}: repository component {component!r} must be lowercase "
                "letters and digits separated by '.', '_', '__' or '-'"
            )
    if registry.lower() in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB_API
        if "/" not in path:
            path = f"library/{path}"
    return ImageReference(name=name, registry=registry, repository=path, tag=tag, digest=digest)
