"""Security profiles: what Hardened demands, what Development is reported as, and what unset means.

As in the reference operator (reference-operator.md §6): Hardened requires TLS from External or ACME, a
non-static seal, self-init, at least 3 replicas and no ``tlsSkipVerify`` in the seal; Development allows
all of that and is reported by SecurityRisk=True and ProductionReady=False. The reference enforces
Hardened at admission (a ValidatingAdmissionPolicy); here the same requirements are CEL rules of the CRD
(``api/profile.py``), and a violating Hardened cluster that got stored anyway (before the rules existed) is
not applied at all, with ConfigurationValid=False naming each field.
An unset profile is treated as Development and reported (ProductionReady=False/ProfileNotSet), where
the reference refuses to reconcile.
"""

from __future__ import annotations

from dataclasses import dataclass

from openbao_operator.api import ConditionType, OpenBaoCluster
from openbao_operator.api.profile import HARDENED_RULES

from .conditions import Cond


@dataclass(frozen=True)
class ProfileVerdict:
    violations: tuple[str, ...]
    """Hardened only: ``spec.path: what to do`` per unmet requirement (blocks the apply)."""
    production_ready: Cond
    security_risk: Cond | None
    """None: remove the condition (not Development)."""


def hardened_violations(cluster: OpenBaoCluster) -> list[str]:
    """``spec.<field>: <message>`` per unmet Hardened requirement (the admission rules, checked again here)."""
    spec = cluster.spec
    return [f"spec.{rule.field}: {rule.message}" for rule in HARDENED_RULES if not rule.check(spec)]


def _risks(cluster: OpenBaoCluster) -> list[str]:
    spec = cluster.spec
    risks = []
    if not spec.tls.serves:
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
