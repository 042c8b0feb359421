"""Operator settings from the environment (prefix ``OPENBAO_OPERATOR_``), in the models' style.

Why environment variables: a Deployment sets them (and the downward API fills the identity and the
operator's namespace); the same names work for the demo and the tests. Every setting has a default that
is right for a single in-cluster replica pair.
"""

from __future__ import annotations

import os
import socket
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OperatorSettings(BaseSettings):
    """``openbao-operator run`` configuration."""

    model_config = SettingsConfigDict(env_prefix="OPENBAO_OPERATOR_", extra="ignore")

    kubeconfig: str | None = None
    """Kubeconfig file; unset: in-cluster ServiceAccount, else $KUBECONFIG, else ~/.kube/config."""
    watch_namespace: str = ""
    """Comma-separated namespaces to watch (namespace mode: a RoleBinding per namespace is the opt-in);
    empty: cluster-wide (namespaces opt in with an OpenBaoTenant)."""
    namespace: str = Field(default_factory=lambda: os.environ.get("POD_NAMESPACE", "openbao-operator-system"))
    """The operator's own namespace (Lease, NetworkPolicy ingress rule for the operator)."""
    service_account: str = "openbao-operator"
    """The operator's own ServiceAccount (in ``namespace``): the subject of the RoleBinding with which an
    OpenBaoTenant onboards a namespace (cluster-wide mode)."""
    cluster_domain: str = "cluster.local"
    lease_name: str = "openbao-operator"
    lease_namespace: str | None = None
    """Default: the operator's namespace."""
    identity: str = Field(default_factory=lambda: os.environ.get("POD_NAME") or socket.gethostname())
    """This replica's name in the Lease and in Events (the pod name, from the downward API)."""
    leader_election: bool = True
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    workers: int = Field(default=16, ge=1, le=64)
    """Clusters reconciled at once. A reconcile mostly waits on the API server, so many are cheap."""
    probe_address: str = "0.0.0.0:8080"
    """host:port serving /healthz, /readyz and /metrics."""
    log_format: Literal["json", "console"] = "json"
    log_level: str = "INFO"
    cache_sync_timeout: float = Field(default=120.0, gt=0)
    """Seconds the caches may take to sync; then /healthz fails and a leader gives up the lease and exits."""
    resync_seconds: float = Field(default=600.0, gt=0)
    """Each cluster is reconciled at least this often (costs no write when nothing changed)."""
    api_server_cidr: str | None = None
    """The API server's address for the pods' NetworkPolicy; detected when unset."""
    executor_image: str = ""
    """The image of the backup and restore executor Jobs (``openbao-operator backup|restore``): the operator's
    own image, which deploy/operator.yaml and the chart set. Unset: a backup or restore needs
    ``spec.backup.image`` / ``OpenBaoRestore.spec.image``."""

    def namespaces(self) -> list[str]:
        """Watched namespaces; empty means cluster-wide."""
        return [ns.strip() for ns in self.watch_namespace.split(",") if ns.strip()]

    def probe_host_port(self) -> tuple[str, int]:
        host, _, port = self.probe_address.rpartition(":")
        return host or "0.0.0.0", int(port)  # noqa: S104 - probes must be reachable by the kubelet
