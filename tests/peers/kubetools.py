"""helm and kubectl (the pinned peers) against a test control plane, and the README's install commands.

Why: the chart and deploy/ are proven by the tools users run, not by a re-implementation of them; and the
README's install commands are taken from the README itself (:func:`readme_commands`), so the test runs
exactly what a user is told to run. Each tool gets private config, cache and data directories, so nothing
of the host's (repositories, plugins, credentials) takes part.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.peers import pins
from tests.peers.controlplane import write_kubeconfig
from tests.peers.procs import run_checked

README = pins.REPO_ROOT / "README.md"


@dataclass(frozen=True)
class Tool:
    """One CLI (helm or kubectl) bound to a kubeconfig; ``run`` logs every call."""

    binary: Path
    env: dict[str, str]
    log: Path

    def run(
        self, *args: str, check: bool = True, timeout: float = 300.0, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_checked(
            [str(self.binary), *args],
            env=self.env,
            timeout=timeout,
            log=self.log,
            check=check,
            input_text=input_text,
            cwd=pins.REPO_ROOT,  # the README's paths (charts/..., deploy/) are relative to the checkout
        )


def _env(*, kubeconfig: Path | None, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBECONFIG"))}
    workdir.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(workdir),
        HELM_CACHE_HOME=str(workdir / "helm-cache"),
        HELM_CONFIG_HOME=str(workdir / "helm-config"),
        HELM_DATA_HOME=str(workdir / "helm-data"),
    )
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return env


def helm(*, workdir: Path, log: Path, kubeconfig: dict[str, Any] | None = None) -> Tool:
    """The pinned helm; with ``kubeconfig`` (a dict) it talks to that cluster."""
    path = write_kubeconfig(kubeconfig, workdir / "kubeconfig") if kubeconfig is not None else None
    return Tool(pins.binary("helm"), _env(kubeconfig=path, workdir=workdir), log)


def kubectl(*, workdir: Path, log: Path, kubeconfig: dict[str, Any]) -> Tool:
    """The pinned kubectl for that cluster."""
    path = write_kubeconfig(kubeconfig, workdir / "kubeconfig")
    return Tool(pins.binary("kubectl"), _env(kubeconfig=path, workdir=workdir), log)


_BLOCK = re.compile(r"<!-- test: (?P<name>[\w-]+)\b.*?-->\s*```sh\n(?P<body>.*?)```", re.DOTALL)


def readme_commands(name: str, *, readme: Path = README) -> list[list[str]]:
    """The commands of the README's code block marked ``<!-- test: NAME ... -->``, split like a shell would
    (comments and blank lines dropped, ``\\`` continuations joined)."""
    for m in _BLOCK.finditer(readme.read_text()):
        if m.group("name") == name:
            text = m.group("body").replace("\\\n", " ")
            lines = [line.split(" #", 1)[0].strip() for line in text.splitlines()]
            return [shlex.split(line) for line in lines if line and not line.startswith("#")]
    raise LookupError(f"{readme} has no code block marked <!-- test: {name} -->")


def with_tools(argv: list[str], *, tools: dict[str, Tool]) -> tuple[Tool, list[str]]:
    """The Tool a README line starts with (``helm``/``kubectl``) and the arguments after it."""
    tool = tools.get(argv[0])
    if tool is None:
        raise LookupError(f"README command {shlex.join(argv)!r} starts with an unknown tool; known: {sorted(tools)}")
    return tool, argv[1:]
