"""Where the operator's API credentials come from: a kubeconfig (file or dict) or the in-cluster ServiceAccount.

Why a function of our own: lightkube's own fallback chain is right (in-cluster, then ``$KUBECONFIG``, then
``~/.kube/config``), but tests and the CLI must be able to say exactly which config to use, including a
kubeconfig dict minted for a ServiceAccount, without touching the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError

from .errors import KubeError

KubeconfigSource = str | Path | Mapping[str, Any] | None
"""A kubeconfig path, a parsed kubeconfig, or None for "in-cluster, else $KUBECONFIG, else ~/.kube/config"."""


def load_config(source: KubeconfigSource = None, *, context: str | None = None) -> SingleConfig:
    """Resolve ``source`` (and optionally a context name) into one cluster + user + namespace."""
    try:
        if source is None:
            kubeconfig = KubeConfig.from_env()
        elif isinstance(source, Mapping):
            kubeconfig = KubeConfig.from_dict(dict(source))
        else:
            kubeconfig = KubeConfig.from_file(source)
        config = kubeconfig.get(context_name=context)
    except (ConfigError, OSError, KeyError, ValueError) as exc:
        raise KubeError(f"cannot load Kubernetes client configuration: {exc}") from exc
    if config is None:
        raise KubeError("the kubeconfig has no current context; pass a context name")
    return config
