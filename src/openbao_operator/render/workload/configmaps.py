"""ConfigMaps: `<name>-config` (config.hcl for every pod) and `<name>-tls-ca` (the Gateway's trust anchor).

config.hcl is taken as text from the config renderer, never built here: this module only places it,
so a secret can reach a ConfigMap only if the config renderer put it into config.hcl (which it must
not; the property tests check the pair). The Gateway CA ConfigMap holds a public CA certificate, which
BackendTLSPolicy can reference only from a ConfigMap.
"""

from __future__ import annotations

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.api.tls import EffectiveTlsMode
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.meta import Manifest, object_meta


def config_map(cluster: OpenBaoCluster, facts: RenderFacts, *, config_text: str) -> Manifest:
    """ConfigMap `<name>-config` with key config.hcl, mounted read-only at /etc/bao/config in every pod."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(cluster, facts, names.config_map_name(cluster)),
        "data": {names.CONFIG_FILE_KEY: config_text},
    }


def gateway_ca_config_map(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest | None:
    """ConfigMap `<name>-tls-ca` (key ca.crt) for the BackendTLSPolicy; only with a CA to copy."""
    if facts.tls_ca_pem is None or not backend_tls_wanted(cluster):
        return None
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(cluster, facts, names.gateway_ca_config_map_name(cluster)),
        "data": {"ca.crt": facts.tls_ca_pem},
    }


def backend_tls_wanted(cluster: OpenBaoCluster) -> bool:
    """Gateway enabled, not passthrough, backendTLS not switched off, and OpenBao serving mounted certificates.

    The reference skips the policy when TLS is off but leaves an old one behind; here a policy
    that is not wanted is simply absent from the desired state, so the controller deletes it.
    """
    gateway = cluster.spec.gateway
    if gateway is None or not gateway.enabled or gateway.tls_passthrough:
        return False
    if gateway.backend_tls is not None and not gateway.backend_tls.enabled:
        return False
    return cluster.spec.tls.effective_mode is not EffectiveTlsMode.DISABLED
