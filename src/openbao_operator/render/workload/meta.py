"""Object metadata every rendered object shares: name, namespace, labels, and the owner reference.

Why one helper: the labels and the controller ownerReference are what garbage collection, the
informer-to-owner mapping and the reference operator's selectors rely on. Building them in one place
keeps every object consistent, and makes the single deliberate exception (the unseal key, which must
outlive the cluster under most deletion policies) explicit at its call site.
"""

from __future__ import annotations

from typing import Any

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.api.tls import EffectiveTlsMode
from openbao_operator.render.config import tls_kind
from openbao_operator.render.facts import RenderFacts

Manifest = dict[str, Any]
"""A Kubernetes object as plain JSON-compatible data (what the API server receives)."""


def owner_reference(cluster: OpenBaoCluster, facts: RenderFacts) -> dict[str, Any] | None:
    """The controller ownerReference to the OpenBaoCluster, or None while its uid is unknown.

    The uid comes from the facts (the controller always has it); the CLI renders offline without it,
    so objects carry no ownerReference there rather than an invalid one.
    """
    extra = cluster.metadata.model_extra or {}
    uid = facts.owner_uid or extra.get("uid")
    if not uid:
        return None
    return names.controller_owner_reference(cluster, str(uid))


def object_meta(
    cluster: OpenBaoCluster,
    facts: RenderFacts,
    name: str,
    *,
    owned: bool = True,
    annotations: dict[str, str] | None = None,
    extra_labels: dict[str, str] | None = None,
) -> Manifest:
    """metadata for an object of the cluster: infra labels (never overridable), namespace, owner."""
    infra = names.infra_labels(cluster)
    labels = {**infra, **{k: v for k, v in (extra_labels or {}).items() if k not in infra}}
    meta: Manifest = {"name": name, "namespace": facts.namespace, "labels": labels}
    if annotations:
        meta["annotations"] = dict(annotations)
    if owned:
        ref = owner_reference(cluster, facts)
        if ref is not None:
            meta["ownerReferences"] = [ref]
    return meta


def listener_tls(cluster: OpenBaoCluster) -> bool:
    """Does the OpenBao listener serve TLS? The config renderer's decision (`tls_kind`), so probes match it."""
    return tls_kind(cluster.spec) is not EffectiveTlsMode.DISABLED


def tls_files_mounted(cluster: OpenBaoCluster) -> bool:
    """Are certificate files mounted from <name>-tls-server? Not with ACME (OpenBao fetches its own) or TLS off."""
    return tls_kind(cluster.spec).files


def api_scheme(cluster: OpenBaoCluster) -> str:
    return "https" if listener_tls(cluster) else "http"
