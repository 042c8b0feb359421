"""Startup, liveness and readiness probes: HTTP(S) `httpGet` on `/v1/sys/health`, no exec, no helper binary.

/v1/sys/health answers 200 active, 429 standby, 501 uninitialized, 503 sealed (uninitialized wins over
sealed over standby); the kubelet counts 200-399 as success and does not verify TLS certificates.

- Startup and liveness ask with `standbyok=true&sealedcode=204&uninitcode=204`: every state is a
  success, so they only fail when the process stops answering. A sealed or uninitialized pod is never
  killed (it is waiting for the operator, a join or the seal), and a restart would not help it.
- Readiness asks with `standbyok=true` only: ready means initialized, unsealed and serving; standbys
  are ready because they serve reads (OpenBao >= 2.5) and forward the rest.

The scheme follows the listener: HTTPS with TLS, plain HTTP when TLS is disabled.
"""

from __future__ import annotations

from typing import Any

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.render.workload.meta import listener_tls

ALIVE_PATH = "/v1/sys/health?standbyok=true&sealedcode=204&uninitcode=204"
READY_PATH = "/v1/sys/health?standbyok=true"


def _get(cluster: OpenBaoCluster, path: str) -> dict[str, Any]:
    return {"path": path, "port": names.API_PORT, "scheme": "HTTPS" if listener_tls(cluster) else "HTTP"}


def probes(cluster: OpenBaoCluster) -> dict[str, dict[str, Any]]:
    """The three probes keyed by their container field name."""
    return {
        "startupProbe": {
            "httpGet": _get(cluster, ALIVE_PATH),
            "periodSeconds": 5,
            "timeoutSeconds": 5,
            "failureThreshold": 60,
            "successThreshold": 1,
        },
        "livenessProbe": {
            "httpGet": _get(cluster, ALIVE_PATH),
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 6,
            "successThreshold": 1,
        },
        "readinessProbe": {
            "httpGet": _get(cluster, READY_PATH),
            "periodSeconds": 5,
            "timeoutSeconds": 5,
            "failureThreshold": 2,
            "successThreshold": 1,
        },
    }
