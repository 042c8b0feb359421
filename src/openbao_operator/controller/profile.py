"""Security profiles: what Hardened demands, what Development is reported as, and what unset means.

As in the reference operator: Hardened requires TLS from External or ACME, a
non-static seal, self-init, at least 3 replicas and no ``tlsSkipVerify`` in the seal (and, beyond the
reference, no seal credential written inline into the resource and no pod security override that leaves
"restricted"); Development allows all of that and is reported by SecurityRisk=True and ProductionReady=False,
the SecurityRisk message listing each risky choice (``render.warnings``). The reference enforces Hardened at
admission (a ValidatingAdmissionPolicy); here the same requirements are CEL rules of the CRD
(``api/profile.py``), and a violating Hardened cluster that got stored anyway (before the rules existed) is
not applied at all, with ConfigurationValid=False naming each field.
An unset profile is treated as Development and reported (ProductionReady=False/ProfileNotSet), where
the reference refuses to reconcile.
"""

from __future__ import annotations

from dataclasses import dataclass

from openbao_operator.api import ConditionType, OpenBaoCluster
from openbao_operator.api.profile import HARDENED_RULES
from openbao_operator.api.tls import EffectiveTlsMode
from openbao_operator.render.warnings import security_warnings
from openbao_operator.render.workload.networkpolicy import api_exposure

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
    self_init = spec.self_init is not None and spec.self_init.enabled
    mode = spec.tls.effective_mode
    if mode is EffectiveTlsMode.DISABLED and not self_init:
        # the operator's own requests carry the root token: say so where people look
        risks.append(
            "TLS is disabled: the operator receives the root token and recovery key from sys/init over plain "
            "HTTP and sends the root token over plain HTTP for step-down and raft peer removal"
        )
    elif mode is EffectiveTlsMode.DISABLED:
        risks.append("TLS is disabled")
    elif mode is EffectiveTlsMode.OPERATOR_MANAGED:
        risks.append("certificates come from the operator's own CA")
    if spec.unseal is None or spec.unseal.type == "static":
        risks.append("the unseal key is a Kubernetes Secret next to the data")
    if not self_init:
        risks.append("self-init is off (a root token is handed out at initialization)")
    return risks + security_warnings(cluster)


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
        # NB: Hardened still allows one implicit risk (8200 from any source for an unscoped entry point, kept so
        # that existing clusters keep working); it is reported, not silent.
        exposure = api_exposure(cluster).warning
        risk = Cond(risk_type, "True", "APIOpenToAnySource", exposure) if exposure and not violations else None
        return ProfileVerdict(violations=violations, production_ready=ready, security_risk=risk)
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
