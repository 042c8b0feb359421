"""What a rendered cluster exposes that its spec allows but a reader should hear about, in one list.

Why one place: the same sentences reach the user twice, from `openbao-operator render` (stderr) and from the
controller (the SecurityRisk condition and its Event), and must not drift apart. Each names the spec field and
the remedy. Under Hardened, pod security overrides are refused at admission instead, so only what Hardened
still allows can appear.
"""

from __future__ import annotations

from openbao_operator.api import OpenBaoCluster
from openbao_operator.api.podsecurity import pod_security_risks


def security_warnings(cluster: OpenBaoCluster) -> list[str]:
    """``spec.<field>: <what it does and what to do>`` for each risky choice the spec makes."""
    return pod_security_risks(cluster.spec)
