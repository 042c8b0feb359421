"""What every stanza needs to know, derived once per render: the spec, the facts, the version, the TLS mode.

Why: the TLS mode (off, mounted files, ACME: the API model's ``effective_mode``) changes the listener, the raft
join and the probes, so the render checks it once (:func:`tls_kind`, which also refuses a contradiction) and
every stanza reads the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from openbao_operator.api import OpenBaoCluster, OpenBaoClusterSpec
from openbao_operator.api.tls import EffectiveTlsMode
from openbao_operator.render.facts import RenderFacts

from .errors import ConfigRenderError
from .version import Version, parse_version


def tls_kind(spec: OpenBaoClusterSpec) -> EffectiveTlsMode:
    """How the listener gets TLS: not at all, from the mounted Secret files, or from ACME.

    ``spec.tls.enabled=false`` really disables TLS (the reference still wrote certificate paths),
    except with mode ACME, where the reference ignores it too (:attr:`TlsConfig.serves`).
    ``spec.configuration.listener.tlsDisable=true`` with ``spec.tls.enabled=true`` is a contradiction
    (certificates would be issued and probed over HTTPS against a plain-HTTP listener), so it is an error.
    """
    listener = spec.configuration.listener if spec.configuration is not None else None
    mode = spec.tls.effective_mode
    if mode is EffectiveTlsMode.DISABLED:
        return mode
    if listener is not None and listener.tls_disable:
        raise ConfigRenderError(
            "spec.configuration.listener.tlsDisable",
            "contradicts spec.tls.enabled=true; set spec.tls.enabled=false to serve without TLS",
        )
    return mode


@dataclass(frozen=True, slots=True)
class Context:
    """Inputs of one render."""

    cluster: OpenBaoCluster
    facts: RenderFacts
    version: Version
    tls: EffectiveTlsMode

    @property
    def spec(self) -> OpenBaoClusterSpec:
        return self.cluster.spec

    @property
    def name(self) -> str:
        return self.cluster.metadata.name

    @property
    def namespace(self) -> str:
        return self.facts.namespace

    @classmethod
    def of(cls, cluster: OpenBaoCluster, facts: RenderFacts) -> Context:
        if not facts.namespace:
            raise ConfigRenderError("metadata.namespace", "the cluster's namespace is required")
        return cls(
            cluster=cluster, facts=facts, version=parse_version(cluster.spec.version), tls=tls_kind(cluster.spec)
        )
