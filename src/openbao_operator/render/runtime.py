"""Objects the operator makes itself at runtime, which `openbao-operator render` names instead of printing.

Why: render output gets applied by GitOps tools. The static unseal key Secret can only be shown without its
key; applied like that (`immutable: true`) it would take the key's place for ever, since the operator never
overwrites a key, and the cluster could never bootstrap. Certificate Secrets without certificates, or a
Gateway CA ConfigMap without the CA, would be as wrong. So `render` prints only what the operator applies from
the spec, and lists these on stderr: they appear in the cluster by themselves and must not be created by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.api.tls import EffectiveTlsMode
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.configmaps import backend_tls_wanted
from openbao_operator.render.workload.meta import tls_files_mounted
from openbao_operator.render.workload.unseal import uses_static_seal


@dataclass(frozen=True)
class RuntimeObject:
    """An object the operator creates (or fills) itself, and what it holds."""

    kind: str
    name: str
    what: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name} ({self.what})"


def runtime_objects(cluster: OpenBaoCluster, facts: RenderFacts) -> list[RuntimeObject]:
    """The operator's own key, certificate and CA objects for this cluster, in the order they appear."""
    found: list[RuntimeObject] = []
    if uses_static_seal(cluster):
        found.append(
            RuntimeObject(
                "Secret",
                names.unseal_key_secret_name(cluster),
                "the static unseal key: 32 random bytes, created once, never replaced",
            )
        )
    if tls_files_mounted(cluster) and cluster.spec.tls.effective_mode is EffectiveTlsMode.OPERATOR_MANAGED:
        found.append(RuntimeObject("Secret", names.tls_ca_secret_name(cluster), "the operator's CA"))
        found.append(
            RuntimeObject("Secret", names.tls_server_secret_name(cluster), "the server certificate, renewed in time")
        )
    if backend_tls_wanted(cluster) and facts.tls_ca_pem is None:
        found.append(
            RuntimeObject(
                "ConfigMap",
                names.gateway_ca_config_map_name(cluster),
                "the CA certificate the Gateway verifies OpenBao with, copied once the CA exists",
            )
        )
    return found
