"""Pod Security Standards "restricted" (plus this project's read-only root filesystem), as a checker.

Encodes the rules of kubernetes.io/docs/concepts/security/pod-security-standards for a pod spec, so unit
tests can check every rendered template; the integration test proves the same against the real
PodSecurity admission.
"""

from __future__ import annotations

from typing import Any

from openbao_operator.api.podsecurity import SAFE_SYSCTLS as SAFE_SYSCTL_NAMES

ALLOWED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SAFE_SYSCTLS = set(SAFE_SYSCTL_NAMES)  # the real PodSecurity admission checks the list in test_render_dry_run


def restricted_violations(pod_spec: dict[str, Any]) -> list[str]:
    """Every rule of "restricted" (and readOnlyRootFilesystem) the pod spec breaks; empty means compliant."""
    problems: list[str] = []
    pod_ctx = pod_spec.get("securityContext", {})
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(host):
            problems.append(f"{host} is set")
    for volume in pod_spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUME_TYPES:
            problems.append(f"volume {volume['name']} has type {sorted(kinds)}")
    for sysctl in pod_ctx.get("sysctls", []):
        if sysctl["name"] not in SAFE_SYSCTLS:
            problems.append(f"sysctl {sysctl['name']} is not safe")
    if pod_ctx.get("runAsUser") == 0:
        problems.append("pod runAsUser is 0")
    pod_seccomp = pod_ctx.get("seccompProfile", {}).get("type")
    pod_apparmor = pod_ctx.get("appArmorProfile", {}).get("type")
    if pod_apparmor == "Unconfined":
        problems.append("pod AppArmor profile is Unconfined")
    containers = [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]
    for c in containers:
        name = c["name"]
        ctx = c.get("securityContext", {})
        if ctx.get("privileged"):
            problems.append(f"{name}: privileged")
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        caps = ctx.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            problems.append(f"{name}: capabilities do not drop ALL")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities {caps.get('add')}")
        non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
        if non_root is not True:
            problems.append(f"{name}: runAsNonRoot is not true")
        if ctx.get("runAsUser") == 0:
            problems.append(f"{name}: runAsUser is 0")
        seccomp = ctx.get("seccompProfile", {}).get("type", pod_seccomp)
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccomp profile {seccomp!r}")
        if ctx.get("appArmorProfile", {}).get("type") == "Unconfined":
            problems.append(f"{name}: AppArmor Unconfined")
        if c.get("ports"):
            for port in c["ports"]:
                if port.get("hostPort"):
                    problems.append(f"{name}: hostPort {port['hostPort']}")
        if ctx.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: root filesystem is writable")
    return problems
