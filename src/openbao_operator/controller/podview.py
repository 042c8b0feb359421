"""What bootstrap and rollout read from a (cached) pod: ordinal, revision, readiness, OpenBao's labels.

Leadership and seal state come from OpenBao's service registration labels on the pod (``openbao-active``,
``openbao-sealed``, ``openbao-initialized``, ``openbao-version``); readiness from the pod's Ready condition
(the readiness probe passes only on an unsealed node, active or standby).
"""

from __future__ import annotations

from datetime import datetime

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.api.tls import EffectiveTlsMode
from openbao_operator.baoapi import Target
from openbao_operator.kube import Manifest
from openbao_operator.render.config.storage import acme_server_name

REVISION_LABEL = "controller-revision-hash"
ACTIVE_LABEL = "openbao-active"
SEALED_LABEL = "openbao-sealed"
VERSION_LABEL = "openbao-version"
API_PORT = 8200


def name(pod: Manifest) -> str:
    return str(pod["metadata"]["name"])


def labels(pod: Manifest) -> dict[str, str]:
    return dict((pod.get("metadata") or {}).get("labels") or {})


def ordinal(pod: Manifest) -> int:
    tail = name(pod).rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def revision(pod: Manifest) -> str | None:
    return labels(pod).get(REVISION_LABEL)


def terminating(pod: Manifest) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def _ready_condition(pod: Manifest) -> dict[str, str]:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return dict(cond)
    return {}


def ready(pod: Manifest) -> bool:
    return not terminating(pod) and _ready_condition(pod).get("status") == "True"


def active(pod: Manifest) -> bool:
    return labels(pod).get(ACTIVE_LABEL) == "true"


def ip(pod: Manifest) -> str | None:
    value = (pod.get("status") or {}).get("podIP")
    return str(value) if value else None


def running(pod: Manifest) -> bool:
    return not terminating(pod) and (pod.get("status") or {}).get("phase") == "Running" and ip(pod) is not None


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def not_ready_since(pod: Manifest) -> datetime | None:
    """When the pod last became not Ready (its creation when it never was Ready); None when Ready."""
    if ready(pod):
        return None
    cond = _ready_condition(pod)
    since = _parse(cond.get("lastTransitionTime")) if cond.get("status") == "False" else None
    return since or _parse((pod.get("metadata") or {}).get("creationTimestamp"))


def created(pod: Manifest) -> datetime | None:
    return _parse((pod.get("metadata") or {}).get("creationTimestamp"))


def restarts(pod: Manifest) -> int:
    """Container restarts of the pod (all containers; the cache keeps only the non-zero counts)."""
    total = 0
    for c in (pod.get("status") or {}).get("containerStatuses") or ():
        try:
            total += int(c.get("restartCount") or 0)
        except (TypeError, ValueError):
            continue
    return total


def version(pod: Manifest) -> str | None:
    """The version OpenBao's service registration put on the pod (``openbao-version``), if any."""
    return labels(pod).get(VERSION_LABEL) or None


def target(cluster: OpenBaoCluster, pod: Manifest, *, namespace: str, ca_pem: str | None) -> Target | None:
    """How the operator reaches this pod's API: its IP, verified by a name its certificate carries.

    From files (OperatorManaged, External): the pod's DNS name, against ``ca_pem`` (the CA of the served
    certificate). ACME: OpenBao's certificate carries only the ACME domains, so the pod is verified by the same
    domain its raft peers verify it by (``leader_tls_servername``), against the roots the operator trusts
    (``ca_pem`` is None there: the operator holds no copy of an ACME CA)."""
    address = ip(pod)
    if address is None:
        return None
    host = f"[{address}]" if ":" in address else address
    mode = cluster.spec.tls.effective_mode
    if mode is EffectiveTlsMode.DISABLED:
        return Target(base_url=f"http://{host}:{API_PORT}")
    if mode is EffectiveTlsMode.ACME:
        server_name = acme_server_name(names.acme_domains(cluster, namespace=namespace))
    else:
        server_name = names.pod_dns_name(cluster, ordinal=ordinal(pod), namespace=namespace)
    return Target(base_url=f"https://{host}:{API_PORT}", server_name=server_name, ca_pem=ca_pem)
