"""What the StatefulSet and its pods report, read from the caches: replica counts, revisions, initialization.

Why from the StatefulSet's status and the pods' labels: the StatefulSet controller already counts ready
and updated pods (``updatedReplicas`` are the pods on ``updateRevision``; with OnDelete the others are
out of date until the rollout replaces them), and OpenBao's service registration labels its own pod
``openbao-initialized=true``. Initialization is sticky: once seen (or recorded in status) it stays,
so a restarted operator never shrinks a running cluster back to its single bootstrap pod.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from openbao_operator.kube import Manifest

from .status import Workload

INITIALIZED_LABEL = "openbao-initialized"


def initialized(live_status: Mapping[str, Any], pods: Sequence[Manifest]) -> bool:
    if live_status.get("initialized") is True:
        return True
    return any(((p.get("metadata") or {}).get("labels") or {}).get(INITIALIZED_LABEL) == "true" for p in pods)


def observe_workload(
    sts: Manifest | None, *, spec_replicas: int, target_replicas: int, is_initialized: bool
) -> Workload:
    if sts is None:
        return Workload(
            exists=False, spec_replicas=spec_replicas, target_replicas=target_replicas, initialized=is_initialized
        )
    status = sts.get("status") or {}
    return Workload(
        exists=True,
        spec_replicas=spec_replicas,
        target_replicas=target_replicas,
        ready=int(status.get("readyReplicas") or 0),
        updated=int(status.get("updatedReplicas") or 0),
        pods=int(status.get("replicas") or 0),
        update_revision=status.get("updateRevision") or None,
        initialized=is_initialized,
    )
