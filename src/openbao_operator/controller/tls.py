"""The TLS step: which TLS Secrets to write, what TLSReady says, and when to look again.

Why a pure function over the observed Secrets: the pki package decides the material
(``plan_operator_managed_tls``, ``validate_external_tls``); this module only maps the mode to that
decision and the decision to the reconcile's terms (Secrets to apply, CA first; a condition; the
certificate fingerprint for pod templates of versions that cannot reload certificates; a requeue time).

Modes: OperatorManaged writes ``<name>-tls-ca`` then ``<name>-tls-server``. External reads the user's
``<name>-tls-server`` and holds the StatefulSet back until it is usable (pods would otherwise wait on a
missing or wrong Secret). ACME mounts nothing. Disabled is reported as a risk by the profile step.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from openbao_operator import pki
from openbao_operator.api import ConditionType, OpenBaoCluster
from openbao_operator.kube import Manifest

from .conditions import Cond

EXTERNAL_POLL = timedelta(minutes=2)
"""User Secrets are not watched (no labels of ours, no list permission): look again this often."""


@dataclass(frozen=True)
class TlsOutcome:
    condition: Cond
    secrets: tuple[Manifest, ...] = field(default=(), repr=False)
    """Secrets to ensure, in this order (the CA Secret before the server Secret). They hold private keys."""
    cert_fingerprint: str | None = None
    ca_pem: str | None = None
    recheck_at: datetime | None = None
    hold_workload: bool = False
    """True: do not create or update the StatefulSet (its pods would mount unusable material)."""
    actions: tuple[str, ...] = ()
    """What changed (for a Normal Event), e.g. ``IssueServerCert: ...``."""
    warnings: tuple[str, ...] = ()


def secret_data(secret: Manifest | None) -> dict[str, bytes] | None:
    """A Secret's ``data`` decoded (None when the Secret does not exist). Never log the result."""
    if secret is None:
        return None
    out: dict[str, bytes] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[str(key)] = base64.b64decode(str(value), validate=True)
        except ValueError:
            continue
    return out


def _tls_kind(cluster: OpenBaoCluster) -> str:
    if not cluster.spec.tls.serves:
        return "disabled"
    return cluster.spec.tls.mode


def plan_tls(
    cluster: OpenBaoCluster,
    *,
    namespace: str,
    cluster_domain: str,
    now: datetime,
    owner_uid: str | None,
    ca_secret: Mapping[str, bytes] | None,
    server_secret: Mapping[str, bytes] | None,
    new_key: pki.KeyFactory = pki.generate_p256_key,
    new_serial: pki.SerialFactory = pki.random_serial,
    policy: pki.RotationPolicy = pki.DEFAULT_POLICY,
) -> TlsOutcome:
    """Decide the TLS Secrets and TLSReady from the observed Secrets (decoded data, None when absent)."""
    kind = _tls_kind(cluster)
    tls_ready = ConditionType.TLS_READY.value
    if kind == "disabled":
        return TlsOutcome(Cond(tls_ready, "True", "Disabled", "TLS is disabled (spec.tls.enabled=false)"))
    if kind == "ACME":
        return TlsOutcome(
            Cond(tls_ready, "Unknown", "ACME", "OpenBao obtains and renews its certificate itself through ACME")
        )
    if kind == "External":
        check = pki.validate_external_tls(cluster, namespace=namespace, server_secret=server_secret, now=now)
        recheck = now + EXTERNAL_POLL
        if check.recheck_at is not None:
            recheck = min(recheck, check.recheck_at)
        return TlsOutcome(
            Cond(tls_ready, "True" if check.ok else "False", check.reason.value, check.message),
            cert_fingerprint=check.leaf_fingerprint,
            ca_pem=_text((server_secret or {}).get("ca.crt")) if check.ok else None,
            recheck_at=recheck,
            hold_workload=not check.ok,
        )
    plan = pki.plan_operator_managed_tls(
        cluster,
        namespace=namespace,
        cluster_domain=cluster_domain,
        now=now,
        ca_secret=ca_secret,
        server_secret=server_secret,
        new_key=new_key,
        new_serial=new_serial,
        policy=policy,
    )
    ca, server = pki.tls_secret_manifests(cluster, plan, namespace=namespace, owner_uid=owner_uid)
    message = (
        f"operator-managed certificate valid until {plan.leaf_not_after.isoformat()}; "
        f"next check at {plan.next_check_at.isoformat()}"
    )
    return TlsOutcome(
        Cond(tls_ready, "True", "Ready", message),
        secrets=(ca, server),
        cert_fingerprint=plan.leaf_fingerprint,
        ca_pem=_text(plan.trust_bundle),
        recheck_at=plan.next_check_at,
        actions=tuple(f"{a.value}: {r}" for a, r in zip(plan.actions, plan.reasons, strict=True)),
        warnings=plan.warnings,
    )


def _text(value: bytes | None) -> str | None:
    return value.decode("ascii", errors="replace") if value else None
