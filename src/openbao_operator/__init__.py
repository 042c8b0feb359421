"""OpenBao operator: turns an OpenBaoCluster custom resource into a running, converged OpenBao cluster.

The package is layered (see ARCHITECTURE.md in the shared specs and the import-linter contracts in
pyproject.toml): cli -> runtime -> controller -> render, pki, seal, imagesig, kube -> api.

The version is set once, in pyproject.toml; the image tag and the chart take it from there too
(scripts/gen_chart.py), so it is read from the installed package's metadata here.
"""

from importlib.metadata import version as _version

__version__ = _version("openbao-operator")
