"""What a rendered cluster exposes that its spec allows but a reader should hear about, in one list.

Why one place: the same sentences reach the user twice, from `openbao-operator render` (stderr) and from the
controller (the SecurityRisk condition and its Event), and must not drift apart. Each names the spec field and
the remedy: pod security overrides that leave "restricted" (refused under Hardened, so they never appear
there) and port 8200 open to any source without an explicit choice (render.workload.networkpolicy).
"""

from __future__ import annotations

from openbao_operator.api import OpenBaoCluster
from openbao_operator.api.podsecurity import pod_security_risks
from openbao_operator.render.workload.networkpolicy import api_exposure


def security_warnings(cluster: OpenBaoCluster) -> list[str]:
    """``spec.<field>: <what it does and what to do>`` for each risky choice the spec makes."""
    exposure = api_exposure(cluster).warning
    return pod_security_risks(cluster.spec) + ([exposure] if exposure else [])
