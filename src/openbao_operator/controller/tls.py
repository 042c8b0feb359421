"""The TLS step: which TLS Secrets to write, what TLSReady says, and when to look again.

Why a pure function over the observed Secrets: the pki package decides the material
(``plan_operator_managed_tls``, ``validate_external_tls``); this module only maps the mode to that
decision and the decision to the reconcile's terms (Secrets to apply, CA first; a condition; the
certificate fingerprint for pod templates of versions that cannot reload certificates; a requeue time).

:func:`ensure_tls` is the step's I/O: it reads the Secrets, writes what the plan says, and runs the ACME
preflight (controller/acme.py).

Modes: OperatorManaged writes ``<name>-tls-ca`` then ``<name>-tls-server``. External reads the user's
``<name>-tls-server`` and holds the StatefulSet back until it is usable (pods would otherwise wait on a
missing or wrong Secret). ACME mounts nothing. Disabled is reported as a risk by the profile step.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from openbao_operator import pki
from openbao_operator.api import ConditionType, OpenBaoCluster
from openbao_operator.api.tls import EffectiveTlsMode as Mode
from openbao_operator.kube import AlreadyExists, Manifest, ObjectKey, stamped

from . import acme
from .conditions import Cond
from .kinds import SECRET
from .ownership import Ownership, foreign_message, ownership
from .step import Context, Report

TLS_READY = ConditionType.TLS_READY.value
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
    mode = cluster.spec.tls.effective_mode
    tls_ready = TLS_READY
    if mode is Mode.DISABLED:
        return TlsOutcome(Cond(tls_ready, "True", "Disabled", "TLS is disabled (spec.tls.enabled=false)"))
    if mode is Mode.ACME:
        return TlsOutcome(
            Cond(tls_ready, "Unknown", "ACME", "OpenBao obtains and renews its certificate itself through ACME")
        )
    if mode is Mode.EXTERNAL:
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


async def ensure_tls(ctx: Context) -> tuple[TlsOutcome, Report]:
    """The TLS step's I/O: read the TLS Secrets, write what :func:`plan_tls` decides (CA first), and in ACME
    mode check what OpenBao's own ACME client will need (controller/acme.py)."""
    cluster, namespace, owner_uid, reader = ctx.cluster, ctx.namespace, ctx.owner_uid, ctx.clients.reader
    out = Report()
    name = cluster.metadata.name
    ca_key = ObjectKey(namespace, pki.ca_secret_name(name))
    server_key = ObjectKey(namespace, pki.server_secret_name(name))
    mode = cluster.spec.tls.effective_mode
    wanted, external = mode.files, mode is Mode.EXTERNAL
    # NB: lookup, not a cache read: in namespace mode the Secret cache selects our label, and a CA Secret
    # without it (restored, relabelled) must be found, not replaced by a new CA (controller/ownership.py).
    live_ca = await reader.lookup(SECRET, ca_key) if wanted and not external else None
    if external:
        live_server = await reader.get(SECRET, server_key, direct=True) if wanted else None
    else:
        live_server = await reader.lookup(SECRET, server_key) if wanted else None
    foreign = [
        live
        for live in (live_ca, live_server if not external else None)
        if not ownership(live, owner_uid=owner_uid, cluster_name=name).writable
    ]
    if foreign:
        # never write over, never plan from, material this cluster does not own
        for live in foreign:
            assert live is not None
            out.foreign(foreign_message(live, cluster_name=name), hold=True)
        message = "; ".join(foreign_message(live, cluster_name=name) for live in foreign if live is not None)
        return TlsOutcome(Cond(TLS_READY, "False", "ForeignObject", message), hold_workload=True), out
    outcome = plan_tls(
        cluster,
        namespace=namespace,
        cluster_domain=ctx.config.cluster_domain,
        now=ctx.now,
        owner_uid=owner_uid,
        ca_secret=secret_data(live_ca),
        server_secret=secret_data(live_server),
        new_key=ctx.clients.new_key,
        new_serial=ctx.clients.new_serial,
        policy=ctx.config.tls_policy,
    )
    for secret, live in zip(outcome.secrets, (live_ca, live_server), strict=False):
        if not await _ensure_secret(ctx, secret, live, out):
            break  # the CA Secret first: no server certificate from a CA that is not stored
    if outcome.actions and live_server is not None:
        # NB: the first issuance of a new cluster is no news; a reissue or CA rollover is.
        out.event("Normal", "CertificateIssued", "IssueCertificate", "; ".join(outcome.actions))
    for warning in outcome.warnings:
        out.event("Warning", "CertificateWarning", "IssueCertificate", warning)
    if outcome.hold_workload:
        out.hold_statefulset = True
        out.problem("TLSNotReady", outcome.condition.message)
    verdict = await acme.acme_preflight(
        cluster,
        namespace=namespace,
        initialized=ctx.facts.initialized,
        read_gateway=acme.gateway_reader(ctx.clients.kube),
        resolve=ctx.clients.resolve,
        gateway_missing_retry=ctx.config.gateway_missing_seconds,
    )
    if verdict is None:
        return outcome, out
    # NB: the Warning Event comes with the TLSReady transition (the driver's status write), once, not every pass
    out.problem(verdict.reason, verdict.message)
    out.after(verdict.retry_after)
    out.hold_statefulset = out.hold_statefulset or verdict.hold_workload
    failed = Cond(TLS_READY, "False", verdict.reason, verdict.message)
    return dataclasses.replace(outcome, condition=failed), out


async def _ensure_secret(ctx: Context, secret: Manifest, live: Manifest | None, out: Report) -> bool:
    """Write one TLS Secret: created with POST when absent (never over a Secret that appeared meanwhile),
    applied only over our own. False when it is not in place as planned (the next pass plans again)."""
    key = ObjectKey.of(secret)
    if live is not None:
        orphan = ownership(live, owner_uid=ctx.owner_uid, cluster_name=ctx.cluster.metadata.name) is Ownership.ORPHAN
        if orphan and not await ctx.owner_is_live():
            out.after(ctx.config.wait_seconds)  # the cluster this pass read is gone or going: adopt nothing
            return False
        result = await ctx.clients.applier.ensure(secret, live)
        if result.written:
            ctx.clients.reader.wrote(SECRET, key, result.object)
        return True
    try:
        created = await ctx.clients.kube.create(stamped(secret))
    except AlreadyExists:
        out.after(ctx.config.wait_seconds)  # appeared since the read: look at it in the next pass
        return False
    ctx.clients.reader.wrote(SECRET, key, created)
    return True
