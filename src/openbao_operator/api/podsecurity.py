"""Pod security overrides that leave Pod Security Standards "restricted": refused under Hardened, reported otherwise.

Why: `spec.securityContext` overrides the operator's restricted pod context field by field, and until now any
value rendered without a word. The OpenBao container's own context is fixed (no privilege, no added
capabilities, no privilege escalation, runAsNonRoot, read-only root filesystem), so only pod-level fields can
weaken a pod. Those that can never run at all (UID 0, a Windows host process) are refused in every profile
(`k8s.PodSecurityContext`); the ones below run, but leave "restricted" (kubernetes.io/docs/concepts/security/
pod-security-standards, checked against pod-security-admission's checks):

- `runAsNonRoot: false` (restricted forbids setting it false at pod level, even when every container sets true);
- a seccomp or AppArmor profile of type `Unconfined` (baseline);
- an SELinux type other than the container types, or an SELinux user or role (baseline);
- a sysctl outside the safe set (baseline).

Under Hardened each is a rule of the CRD (CEL) and of the models, naming the field; under Development and an
unset profile each is listed in the SecurityRisk condition and printed by `openbao-operator render`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SAFE_SYSCTLS: tuple[str, ...] = (
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
)
"""The sysctls Pod Security "baseline" allows (Kubernetes 1.29 and later)."""
SELINUX_TYPES: tuple[str, ...] = ("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t")
"""The SELinux types Pod Security "baseline" allows ("" is unset)."""


def _cel_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


@dataclass(frozen=True)
class PodSecurityRisk:
    """One way an override leaves "restricted": the field, the CEL and Python tests of the safe case, and why."""

    field: str
    """Dotted JSON path relative to the spec."""
    cel_safe: str
    """CEL over the spec (`self`) with `self.securityContext` present: true when the override is safe."""
    safe: Callable[[Any], bool]
    """Python twin of `cel_safe`, called with the `PodSecurityContext`."""
    problem: str
    """What the value does, for a person."""


_SC = "self.securityContext"

POD_SECURITY_RISKS: tuple[PodSecurityRisk, ...] = (
    PodSecurityRisk(
        "securityContext.runAsNonRoot",
        f"!has({_SC}.runAsNonRoot) || {_SC}.runAsNonRoot",
        lambda c: c.run_as_non_root is not False,
        "false lets the pod run as root and leaves Pod Security 'restricted'",
    ),
    PodSecurityRisk(
        "securityContext.seccompProfile.type",
        f"!has({_SC}.seccompProfile) || {_SC}.seccompProfile.type != 'Unconfined'",
        lambda c: c.seccomp_profile is None or c.seccomp_profile.type != "Unconfined",
        "Unconfined turns off the seccomp filter and leaves Pod Security 'baseline'",
    ),
    PodSecurityRisk(
        "securityContext.appArmorProfile.type",
        f"!has({_SC}.appArmorProfile) || {_SC}.appArmorProfile.type != 'Unconfined'",
        lambda c: c.app_armor_profile is None or c.app_armor_profile.type != "Unconfined",
        "Unconfined turns off AppArmor and leaves Pod Security 'baseline'",
    ),
    PodSecurityRisk(
        "securityContext.seLinuxOptions.type",
        f"!has({_SC}.seLinuxOptions) || !has({_SC}.seLinuxOptions.type) || "
        f"{_SC}.seLinuxOptions.type in {_cel_list(SELINUX_TYPES)}",
        lambda c: c.se_linux_options is None or (c.se_linux_options.type or "") in SELINUX_TYPES,
        f"an SELinux type other than {', '.join(SELINUX_TYPES[1:])} leaves Pod Security 'baseline'",
    ),
    PodSecurityRisk(
        "securityContext.seLinuxOptions.user",
        f"!has({_SC}.seLinuxOptions) || !has({_SC}.seLinuxOptions.user) || size({_SC}.seLinuxOptions.user) == 0",
        lambda c: c.se_linux_options is None or not c.se_linux_options.user,
        "a custom SELinux user leaves Pod Security 'baseline'",
    ),
    PodSecurityRisk(
        "securityContext.seLinuxOptions.role",
        f"!has({_SC}.seLinuxOptions) || !has({_SC}.seLinuxOptions.role) || size({_SC}.seLinuxOptions.role) == 0",
        lambda c: c.se_linux_options is None or not c.se_linux_options.role,
        "a custom SELinux role leaves Pod Security 'baseline'",
    ),
    PodSecurityRisk(
        "securityContext.sysctls",
        f"!has({_SC}.sysctls) || {_SC}.sysctls.all(s, s.name in {_cel_list(SAFE_SYSCTLS)})",
        lambda c: all(s.name in SAFE_SYSCTLS for s in c.sysctls or ()),
        "a sysctl outside the safe set leaves Pod Security 'baseline'",
    ),
)


def pod_security_risks(spec: Any) -> list[str]:
    """``spec.<field>: <problem>`` for each override of `spec.securityContext` that leaves "restricted"."""
    context = spec.security_context
    if context is None:
        return []
    return [f"spec.{risk.field}: {risk.problem}" for risk in POD_SECURITY_RISKS if not risk.safe(context)]
