"""Run `bao server` the way a pod of the operator runs it: the rendered config.hcl unchanged, the pod's
files bind-mounted at the pod paths, its own network namespace, and the pod environment.

Reuses the peers' pod layout (:func:`tests.peers.bao.pod_layout_argv`), process handling and CA; adds the
network namespace (:mod:`tests.integration.netns`) and the Kubernetes bits a pod has (ServiceAccount token
files, ``KUBERNETES_SERVICE_HOST``/``PORT``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openbao_operator.api import names
from tests.peers import pins
from tests.peers.bao import PodLayout, pod_layout_argv, write_static_seal_key
from tests.peers.certs import TestCA
from tests.peers.procs import PeerProcess, run_checked, tail, wait_until


@dataclass
class PodFiles:
    """Host directories holding what the pod would see at the pod paths."""

    root: Path
    config_text: str
    self_init_text: str = ""
    """The self-init file (the Secret <name>-config-init), mounted at its pod path when not empty."""
    ca: TestCA | None = None
    ips: tuple[str, ...] = ("127.0.0.1",)
    dns: tuple[str, ...] = ("localhost",)
    service_account: Path | None = None
    seal_key: bytes | None = None

    def mounts(self) -> dict[str, Path]:
        config = self.root / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "config.hcl").write_text(self.config_text)
        data = self.root / "data"
        plugins = self.root / "plugins"
        data.mkdir(exist_ok=True)
        plugins.mkdir(exist_ok=True)
        out = {names.CONFIG_DIR: config, names.DATA_DIR: data, names.PLUGIN_DIR: plugins}
        if self.self_init_text:
            init = self.root / "config-init"
            init.mkdir(exist_ok=True)
            (init / Path(names.SELF_INIT_FILE).name).write_text(self.self_init_text)
            out[names.SELF_INIT_DIR] = init
        if self.ca is not None:
            tls = self.root / "tls"
            tls.mkdir(exist_ok=True)
            leaf = self.ca.issue(name="leaf", common_name=self.ips[0], ips=self.ips, dns_names=self.dns, server=True,
                                 client=True)  # fmt: skip
            (tls / "tls.crt").write_bytes(leaf.cert.read_bytes())
            (tls / "tls.key").write_bytes(leaf.key.read_bytes())
            (tls / "ca.crt").write_bytes(self.ca.cert_pem)
            out[names.TLS_DIR] = tls
        key = self.root / "unseal" / "key"
        if self.seal_key is not None:
            key.parent.mkdir(parents=True, exist_ok=True)
            key.write_bytes(self.seal_key)
        elif not key.exists():
            write_static_seal_key(key)
        out[names.UNSEAL_DIR] = key.parent
        if self.service_account is not None:
            out["/var/run/secrets/kubernetes.io/serviceaccount"] = self.service_account
        return out


@dataclass
class PodBao:
    """One `bao server` in a network namespace, with pod files and pod environment."""

    name: str
    netns: str
    files: PodFiles
    env: dict[str, str]
    log: Path
    scheme: str = "https"
    args: tuple[str, ...] = ("server", f"-config={names.CONFIG_FILE}")
    """`bao` arguments, as the pod's container has them (render.workload.statefulset.server_args)."""
    proc: PeerProcess | None = None
    layout: PodLayout | None = None
    extra: list[PeerProcess] = field(default_factory=list)

    @property
    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns]

    def _base_env(self) -> dict[str, str]:
        keep = ("PATH", "LANG", "TMPDIR")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env["HOME"] = str(self.files.root)
        return env

    def start(self, *, wait_listener: bool = True, timeout: float = 60.0) -> PodBao:
        argv, self.layout = pod_layout_argv([str(pins.bao_binary()), *self.args], mounts=self.files.mounts())
        env = self._base_env() | self.env
        self.proc = PeerProcess(name=self.name, argv=[*self.prefix, *argv], log=self.log, env=env).start()
        if wait_listener:
            self.proc.wait_ready(lambda: self.status() is not None, what="listener answering", timeout=timeout)
        return self

    def cli(self, *args: str, token: str | None = None, check: bool = True, env: dict[str, str] | None = None) -> Any:
        base = self._base_env() | {"BAO_ADDR": f"{self.scheme}://127.0.0.1:{names.API_PORT}"}
        env = base | (env or {})
        if self.files.ca is not None:
            env["BAO_CACERT"] = str(self.files.ca.files.cert)
        if token is not None:
            env["BAO_TOKEN"] = token
        return run_checked(
            [*self.prefix, str(pins.bao_binary()), *args],
            env=env,
            timeout=60,
            log=self.log.with_suffix(".cli.log"),
            check=check,
        )

    def status(self) -> dict[str, Any] | None:
        res = self.cli("status", "-format=json", check=False)
        if res.returncode not in (0, 2):
            return None
        try:
            data: dict[str, Any] = json.loads(res.stdout)
        except json.JSONDecodeError:
            return None
        return data

    def wait_unsealed(self, *, timeout: float = 60.0) -> dict[str, Any]:
        def unsealed() -> dict[str, Any] | None:
            if self.proc is not None:
                self.proc.check_alive()
            st = self.status()
            return st if st and st.get("initialized") and not st.get("sealed") else None

        return wait_until(unsealed, what=f"{self.name} to be unsealed", timeout=timeout)

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
        for p in (self.proc, *self.extra):
            if p is not None:
                p.stop()
        if self.layout is not None:
            self.layout.cleanup()

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
        if self.layout is not None:
            self.layout.cleanup()
