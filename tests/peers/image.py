"""The operator image, built and run here with podman although no container registry can be reached.

Why a module of its own: the chart, the in-cluster end-to-end test, the signing test and the benchmarks all
need the image built from the working tree exactly as a user builds it (the repository's Containerfile), and
this machine needs three adaptations that are measured, not guessed (docs/image.md has the evidence):

- podman runs with ``runc`` and the ``cgroupfs`` manager, and with default ulimits inside the host's hard
  limits (podman's default nofile of 1048576 exceeds them: "error setting rlimit type 7: operation not
  permitted"), all in a containers.conf the installer writes next to the podman stamp (``CONTAINERS_CONF``);
- the base image is a Debian root made by ``mmdebstrap`` and ``podman import``-ed (the default base, an
  official Python image, cannot be pulled here); its tar is cached with the other peers, keyed by its inputs;
- package downloads during the build cross a TLS-intercepting proxy, so the host CA bundle is handed to the
  build as a secret (``--secret id=cacert``), which is never written to a layer.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import subprocess
import tarfile
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tests.peers import pins
from tests.peers.procs import PeerError, run_checked

BASE_REPOSITORY = "localhost/openbao-operator-base"
#: The image's name; the tag is the project version (pyproject.toml), the one version of package, image, chart.
IMAGE_REPOSITORY = "openbao-operator"
CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
#: What the image must not contain: package managers, compilers, a shell (checked on the exported root).
FORBIDDEN_TOOLS = (
    "apt",
    "apt-get",
    "dpkg",
    "rpm",
    "apk",
    "pip",
    "pip3",
    "uv",
    "easy_install",
    "gcc",
    "cc",
    "c++",
    "g++",
    "clang",
    "ld",
    "as",
    "make",
    "sh",
    "bash",
    "dash",
    "busybox",
    "perl",
)


def project_version() -> str:
    """The version in pyproject.toml: the package's, the image tag's and the chart's (one place)."""
    with (pins.REPO_ROOT / "pyproject.toml").open("rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def containers_conf_text() -> str:
    """containers.conf for this host: runc, cgroupfs, file events, and ulimits no higher than the hard limits."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nofile = min(nofile, 1_048_576) if nofile != resource.RLIM_INFINITY else 1_048_576
    nproc = min(nproc, 32_768) if nproc != resource.RLIM_INFINITY else 32_768
    return (
        "# Written by tests/peers/install.py for this host (docs/image.md explains each line).\n"
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
    )


def containers_conf() -> Path:
    return pins.peer("podman").home / "containers.conf"


def podman_env() -> dict[str, str]:
    """The environment every podman call here runs with (CONTAINERS_CONF set); raises if podman is missing."""
    conf = containers_conf()
    podman = pins.peer("podman").pin["binary"]
    if not conf.is_file() or not Path(podman).is_file():
        raise pins.PeerMissingError(f"podman or its containers.conf ({conf}) is missing; {pins.INSTALL_HINT}")
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = str(conf)
    return env


def podman(*args: str, log: Path | None = None, timeout: float = 600.0, check: bool = True) -> str:
    """``podman ARGS`` with this host's containers.conf; returns stdout."""
    res = run_checked(["podman", *args], env=podman_env(), timeout=timeout, log=log, check=check)
    return res.stdout


def base_tar() -> Path:
    return pins.peer("image-base").home / "base.tar"


def base_image() -> str:
    """``localhost/openbao-operator-base:<key>``, imported from the cached tar when podman lacks it."""
    ref = f"{BASE_REPOSITORY}:{pins.peer('image-base').version}"
    env = podman_env()
    exists = subprocess.run(["podman", "image", "exists", ref], env=env, timeout=60, check=False)
    if exists.returncode != 0:
        tar = base_tar()
        if not tar.is_file():
            raise pins.PeerMissingError(f"the image base {tar} is missing; {pins.INSTALL_HINT}")
        run_checked(["podman", "import", str(tar), ref], env=env, timeout=300)
    return ref


def ca_bundle() -> Path | None:
    """The host's CA bundle (what trusts the TLS-intercepting proxy), handed to builds as a secret."""
    env = os.environ.get("SSL_CERT_FILE")
    for candidate in (env, *CA_BUNDLES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@dataclass(frozen=True)
class Build:
    """One image build: the image id, the tag given, how long it took and the image's size."""

    image_id: str
    tag: str
    seconds: float
    size: int


def build_argv(
    *, tag: str, base: str, version: str, iidfile: Path, no_cache: bool = False, context: Path = pins.REPO_ROOT
) -> list[str]:
    """``podman build`` as this project runs it (also printed in docs/image.md)."""
    argv = [
        "podman",
        "build",
        "--network=host",
        f"--build-arg=BASE={base}",
        f"--build-arg=VERSION={version}",
        # Also as --label: buildah 1.28 reuses a cached LABEL step whose ${VERSION} expanded differently, so
        # two versions of an otherwise unchanged tree got one image with the first version's label.
        f"--label=org.opencontainers.image.version={version}",
        f"--iidfile={iidfile}",
        f"--tag={tag}",
        f"--file={context / 'Containerfile'}",
    ]
    bundle = ca_bundle()
    if bundle is not None:
        argv.append(f"--secret=id=cacert,src={bundle}")
    if no_cache:
        argv.append("--no-cache")
    return [*argv, str(context)]


def build_image(
    *,
    log: Path,
    tag: str | None = None,
    version: str | None = None,
    no_cache: bool = False,
    context: Path = pins.REPO_ROOT,
) -> Build:
    """Build the working tree's image (layers reused unless ``no_cache``), tagged ``openbao-operator:<version>``;
    ``version`` (default: pyproject's) is the image's version label, so another one makes another image."""
    version = version or project_version()
    tag = tag or f"localhost/{IMAGE_REPOSITORY}:{version}"
    base = base_image()
    with tempfile.TemporaryDirectory() as tmp:
        iidfile = Path(tmp) / "iid"
        argv = build_argv(tag=tag, base=base, version=version, iidfile=iidfile, no_cache=no_cache, context=context)
        started = time.monotonic()
        run_checked(argv, env=podman_env(), timeout=1800, log=log)
        seconds = time.monotonic() - started
        image_id = iidfile.read_text().strip()
    return Build(image_id=image_id, tag=tag, seconds=seconds, size=image_size(image_id))


def image_size(ref: str) -> int:
    """The image's uncompressed size in bytes, as ``podman images`` reports it."""
    return int(podman("image", "inspect", "--format={{.Size}}", ref).strip())


def image_config(ref: str) -> dict[str, object]:
    data = json.loads(podman("image", "inspect", ref))
    config: dict[str, object] = data[0]["Config"]
    return config


def exported_paths(ref: str) -> list[str]:
    """Every path in the image's root filesystem (``podman create`` + ``podman export``)."""
    cid = podman("create", ref, "never-run").strip()  # a command: bases have no CMD
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tar = Path(tmp) / "root.tar"
            podman("export", f"--output={tar}", cid)
            with tarfile.open(tar) as tf:
                return ["/" + n.lstrip("./") for n in tf.getnames()]
    finally:
        podman("rm", "--force", cid, check=False)


def read_file(ref: str, path: str) -> bytes:
    """One file of the image (``podman create`` + ``podman cp``), e.g. its SBOM."""
    cid = podman("create", ref, "never-run").strip()  # a command: bases have no CMD
    try:
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "file"
            podman("cp", f"{cid}:{path}", str(target))
            return target.read_bytes()
    finally:
        podman("rm", "--force", cid, check=False)


def push(image: str, destination: str, *, log: Path) -> str:
    """Push ``image`` to ``destination`` (``host:port/repo:tag`` on the plain-HTTP test registry);
    returns the manifest digest the registry stored."""
    with tempfile.TemporaryDirectory() as tmp:
        digestfile = Path(tmp) / "digest"
        podman(
            "push",
            "--tls-verify=false",
            f"--digestfile={digestfile}",
            image,
            f"docker://{destination}",
            log=log,
            timeout=600,
        )
        return digestfile.read_text().strip()


def smoke_test(ref: str) -> str:
    """Run ``openbao-operator --version`` the way a restricted pod runs it; returns its output."""
    return podman(
        "run",
        "--rm",
        "--read-only",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        "--user=65532:65532",
        "--network=none",
        ref,
        "--version",
    ).strip()


def remove_image(ref: str) -> None:
    with contextlib.suppress(PeerError):
        podman("rmi", "--force", ref, check=False)


def have_podman() -> bool:
    return shutil.which("podman") is not None and containers_conf().is_file()
