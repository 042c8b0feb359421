"""Container environment: pod identity for the one shared config.hcl, and the seal's credential wiring.

Why env and not per-pod config: every pod mounts the same config.hcl, so what differs per pod comes from
the Downward API, read by OpenBao itself at startup: `BAO_RAFT_NODE_ID`
(stable raft ids equal to pod names), `BAO_API_ADDR` and `BAO_CLUSTER_ADDR` (the pod's DNS name behind
the headless Service, so raft peers and request forwarding survive pod IP changes and match the
certificate's per-pod SANs), `BAO_K8S_POD_NAME` and `BAO_K8S_NAMESPACE` (service registration).
`$(BAO_K8S_POD_NAME)` is expanded by the kubelet (dependent environment variables), not by a shell.

Credentials reach the pod only as `secretKeyRef`s or files from the credentials Secret, never as
literal values; which variable carries which key is the config renderer's table (`SEAL_CREDENTIALS`), so
the file and the pod cannot disagree. `BAO_ADDR`/`BAO_CACERT` are deliberately not set: the transit
seal's client reads them first and would then verify the transit server against this cluster's own CA.
"""

from __future__ import annotations

from typing import Any

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.render.config import SEAL_CREDENTIALS
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.meta import api_scheme

POD_NAME_VAR = "BAO_K8S_POD_NAME"


def _field(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}


def pod_address(cluster: OpenBaoCluster, facts: RenderFacts) -> str:
    """This pod's DNS name behind the headless Service, with the pod name left to the kubelet to expand."""
    return f"$({POD_NAME_VAR}).{names.headless_service_name(cluster)}.{facts.namespace}.svc"


def identity_env(cluster: OpenBaoCluster, facts: RenderFacts) -> list[dict[str, Any]]:
    address = pod_address(cluster, facts)
    return [
        _field(POD_NAME_VAR, "metadata.name"),
        _field("BAO_K8S_NAMESPACE", "metadata.namespace"),
        _field("BAO_RAFT_NODE_ID", "metadata.name"),
        {"name": "BAO_API_ADDR", "value": f"{api_scheme(cluster)}://{address}:{names.API_PORT}"},
        # The cluster port always speaks TLS (OpenBao's own per-cluster certificates), even with tls_disable.
        {"name": "BAO_CLUSTER_ADDR", "value": f"https://{address}:{names.CLUSTER_PORT}"},
    ]


def seal_env(cluster: OpenBaoCluster) -> list[dict[str, Any]]:
    """The seal's secrets from the credentials Secret, as the config renderer expects them (`SEAL_CREDENTIALS`).

    Values come as `secretKeyRef`s; a variable that names a file points into the Secret mounted at
    `SEAL_CREDS_DIR`. Without a credentials Secret nothing is added (workload identity, instance principal,
    or files the user mounts otherwise).
    """
    unseal = cluster.spec.unseal
    if unseal is None or unseal.type == "static" or unseal.credentials_secret_ref is None:
        return []
    secret = unseal.credentials_secret_ref.name
    env: list[dict[str, Any]] = []
    for credential in SEAL_CREDENTIALS.get(unseal.type, ()):
        if credential.file:
            env.append({"name": credential.env, "value": f"{names.SEAL_CREDS_DIR}/{credential.secret_key}"})
            continue
        selector: dict[str, Any] = {"name": secret, "key": credential.secret_key}
        if credential.optional:
            selector["optional"] = True
        env.append({"name": credential.env, "valueFrom": {"secretKeyRef": selector}})
    return env


def container_env(cluster: OpenBaoCluster, facts: RenderFacts) -> list[dict[str, Any]]:
    return [*identity_env(cluster, facts), *seal_env(cluster)]
