"""Security profiles: what Hardened demands, what Development is reported as, and what unset means.

As in the reference operator (reference-operator.md §6): Hardened requires TLS from External or ACME, a
non-static seal, self-init, at least 3 replicas and no ``tlsSkipVerify`` in the seal; Development allows
all of that and is reported by SecurityRisk=True and ProductionReady=False. The reference enforces
Hardened at admission (a ValidatingAdmissionPolicy); here a violating Hardened cluster is not applied
at all and ConfigurationValid=False names each field, which is the same outcome without the policy.
An unset profile is treated as Development and reported (ProductionReady=False/ProfileNotSet), where
the reference refuses to reconcile.
"""

from __future__ import annotations

from dataclasses import dataclass

from openbao_operator.api import ConditionType, OpenBaoCluster

from .conditions import Cond


@dataclass(frozen=True)
class ProfileVerdict:
    violations: tuple[str, ...]
    """Hardened only: ``spec.path: what to do`` per unmet requirement (blocks the apply)."""
    production_ready: Cond
    security_risk: Cond | None
    """None: remove the condition (not Development)."""


def hardened_violations(cluster: OpenBaoCluster) -> list[str]:
    spec = cluster.spec
    out: list[str] = []
    if not spec.tls.enabled or spec.tls.mode == "OperatorManaged":
        out.append("spec.tls.mode: Hardened needs External or ACME certificates (and spec.tls.enabled=true)")
    seal_type = spec.unseal.type if spec.unseal is not None else "static"
    if seal_type == "static":
        out.append("spec.unseal.type: Hardened needs a KMS, HSM or transit seal, not the static key")
    if spec.self_init is None or not spec.self_init.enabled:
        out.append("spec.selfInit.enabled: Hardened needs self-initialization (no root token is kept)")
    if spec.replicas < 3:
        out.append(f"spec.replicas: Hardened needs at least 3 replicas (got {spec.replicas})")
    unseal = spec.unseal
    if unseal is not None and unseal.transit is not None and unseal.transit.tls_skip_verify:
        out.append("spec.unseal.transit.tlsSkipVerify: must not be true under Hardened")
    if unseal is not None and unseal.kmip is not None and unseal.kmip.tls_skip_verify:
        out.append("spec.unseal.kmip.tlsSkipVerify: must not be true under Hardened")
    return out


def _risks(cluster: OpenBaoCluster) -> list[str]:
    spec = cluster.spec
    risks = []
    if not spec.tls.enabled:
        risks.append("TLS is disabled")
    elif spec.tls.mode == "OperatorManaged":
        risks.append("certificates come from the operator's own CA")
    if spec.unseal is None or spec.unseal.type == "static":
        risks.append("the unseal key is a Kubernetes Secret next to the data")
    if spec.self_init is None or not spec.self_init.enabled:
        risks.append("self-init is off (a root token is handed out at initialization)")
    return risks


def judge_profile(cluster: OpenBaoCluster) -> ProfileVerdict:
    ready_type = ConditionType.PRODUCTION_READY.value
    risk_type = ConditionType.SECURITY_RISK.value
    profile = cluster.spec.profile
    if profile == "Hardened":
        violations = tuple(hardened_violations(cluster))
        if violations:
            ready = Cond(ready_type, "False", "HardenedProfileViolated", "; ".join(violations))
        else:
            ready = Cond(ready_type, "True", "ProductionReady", "the Hardened profile's requirements are met")
        return ProfileVerdict(violations=violations, production_ready=ready, security_risk=None)
    risks = _risks(cluster)
    detail = "; ".join(risks) if risks else "Development allows insecure shortcuts"
    if profile is None:
        ready = Cond(
            ready_type,
            "False",
            "ProfileNotSet",
            "spec.profile is not set and is treated as Development; set Hardened for production",
        )
        risk = Cond(risk_type, "True", "ProfileNotSet", f"no profile set, treated as Development: {detail}")
    else:
        ready = Cond(ready_type, "False", "DevelopmentProfile", "the Development profile is not for production")
        risk = Cond(risk_type, "True", "DevelopmentProfile", detail)
    return ProfileVerdict(violations=(), production_ready=ready, security_risk=risk)
