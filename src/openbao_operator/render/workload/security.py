"""Pod and container security contexts that meet Pod Security Standards "restricted" by default.

Why these values: OpenBao needs no Linux capability (mlock is gone), so everything is dropped; it writes
only to mounted volumes, so the root filesystem is read-only. uid 100 / gid 1000 are the user and group of
the official Alpine and UBI images; the distroless image (uid 65532, a static binary) runs just as well
under them because it owns no files it needs, and fsGroup 1000 makes the data volume and the 0440
Secrets readable. `spec.securityContext` overrides the pod-level fields one by one (a user who overrides
them can leave "restricted", and owns that choice); the container context is fixed.
"""

from __future__ import annotations

from typing import Any

from openbao_operator.api import OpenBaoCluster

IMAGE_UID = 100
IMAGE_GID = 1000


def pod_security_context(cluster: OpenBaoCluster) -> dict[str, Any]:
    context: dict[str, Any] = {
        "runAsNonRoot": True,
        "runAsUser": IMAGE_UID,
        "runAsGroup": IMAGE_GID,
        "fsGroup": IMAGE_GID,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    hardening = cluster.spec.workload_hardening
    if hardening is not None and hardening.app_armor_enabled:
        context["appArmorProfile"] = {"type": "RuntimeDefault"}
    overrides = cluster.spec.security_context
    if overrides is not None:
        context.update(overrides.to_json())
    return context


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
    }
