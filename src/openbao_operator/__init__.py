"""OpenBao operator: turns an OpenBaoCluster custom resource into a running, converged OpenBao cluster.

The package is layered (README "Layout" and the import-linter contracts in pyproject.toml): cli wires
runtime, controller and executor, which do not import each other; below them render, pki, seal, imagesig,
kube and baoapi; api at the bottom.

The version is set once, in pyproject.toml; the image tag and the chart take it from there too
(scripts/gen_chart.py), so it is read from the installed package's metadata here, on first use
(importlib.metadata is a noticeable part of the process' start → /readyz, which does not need it; issue 20).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("openbao-operator")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
