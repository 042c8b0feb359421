"""OpenBao operator: turns an OpenBaoCluster custom resource into a running, converged OpenBao cluster.

The package is layered (see ARCHITECTURE.md in the shared specs and the import-linter contracts in
pyproject.toml): cli -> runtime -> controller -> render, pki, seal, imagesig, kube -> api.
"""

__version__ = "0.1.0"
