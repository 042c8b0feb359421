"""Run `bao server` the way a pod of the operator runs it: the rendered config.hcl unchanged, the pod's
files bind-mounted at the pod paths, its own network namespace, and the pod environment.

A :class:`tests.peers.bao.BaoServer` (the one server helper: process handling, CLI, status, pod layout) with
what a pod has on top: its network namespace (:mod:`tests.integration.netns`), its files and environment,
and the Kubernetes bits (ServiceAccount token files, ``KUBERNETES_SERVICE_HOST``/``PORT``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from openbao_operator.api import names
from tests.peers import pins
from tests.peers.bao import BaoServer, write_static_seal_key
from tests.peers.certs import TestCA


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
            out[names.SERVICE_ACCOUNT_DIR] = self.service_account
        return out


class PodBao(BaoServer):
    """One `bao server` as a pod runs it: in a network namespace, the pod's files bind-mounted at the pod
    paths, and nothing of the host's environment but PATH, LANG and TMPDIR besides the pod's own."""

    READY_TIMEOUT: ClassVar[float] = 60.0

    def __init__(
        self,
        *,
        name: str,
        netns: str,
        files: PodFiles,
        pod_env: dict[str, str],
        log: Path,
        scheme: str = "https",
        args: tuple[str, ...] = ("server", f"-config={names.CONFIG_FILE}"),
    ) -> None:
        super().__init__(
            name=name,
            config=Path(names.CONFIG_FILE),
            api_port=names.API_PORT,
            cacert=files.ca.files.cert if files.ca is not None else None,
            workdir=files.root,
            log=log,
            scheme=scheme,
            netns=netns,
        )
        self.files = files
        self.pod_env = pod_env
        self.args = args
        """`bao` arguments, as the pod's container has them (render.workload.statefulset.server_args)."""

    def _base_env(self) -> dict[str, str]:
        keep = ("PATH", "LANG", "TMPDIR")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env["HOME"] = str(self.files.root)
        return env

    def server_argv(self) -> list[str]:
        return [str(pins.bao_binary()), *self.args]

    def server_env(self) -> dict[str, str]:
        return self._base_env() | self.pod_env

    def cli_env(self, *, token: str | None, env: dict[str, str] | None) -> dict[str, str]:
        out = self._base_env() | {"BAO_ADDR": self.addr} | (env or {})
        if self.cacert is not None:
            out["BAO_CACERT"] = str(self.cacert)
        if token is not None:
            out["BAO_TOKEN"] = token
        return out

    def mounts(self) -> dict[str, Path]:
        return self.files.mounts()
