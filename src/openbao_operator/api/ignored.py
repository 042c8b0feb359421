"""Fields that are accepted but not acted on, so that status can name them instead of ignoring them silently.

Manifests written for the reference operator must be accepted unchanged, including fields this operator
does not implement (backups, blue/green) or does not need (the init container). Secrets written inline
into the CR are accepted too, but never rendered: they must come from the credentials Secret. Each such
field found in a spec is reported with the reason and what to do instead; the controller turns the list
into the FieldsIgnored condition and the CLI prints it as warnings.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cluster import OpenBaoClusterSpec
from .seal import INLINE_CREDENTIALS, SEAL_BLOCKS

_ADVICE_INLINE = "a secret in the resource is never written into config.hcl; put it in the credentials Secret"


@dataclass(frozen=True)
class IgnoredField:
    """A field that is set but has no effect, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def _inline_secrets(spec: OpenBaoClusterSpec) -> list[IgnoredField]:
    found = [
        IgnoredField(
            f"spec.{cred.path}",
            f"{_ADVICE_INLINE} (spec.unseal.credentialsSecretRef, key {cred.secret_key})",
        )
        for cred in INLINE_CREDENTIALS
        if cred.value(spec.unseal)
    ]
    if spec.telemetry is not None and spec.telemetry.circonus_api_key:
        found.append(IgnoredField("spec.telemetry.circonusAPIKey", _ADVICE_INLINE))
    return found


_SEAL_BLOCKS = (*SEAL_BLOCKS, ("static", "static", "static"))


# Seal options the reference operator has that OpenBao's seal of that type does not: (seal type, block
# attribute, JSON block name, option attribute, JSON option name).
_NOT_OPENBAO_OPTIONS = (
    ("pkcs11", "pkcs11", "pkcs11", "hmac_key_label", "hmacKeyLabel"),
    ("pkcs11", "pkcs11", "pkcs11", "generate_key", "generateKey"),
    ("pkcs11", "pkcs11", "pkcs11", "rsa_encrypt_local", "rsaEncryptLocal"),
    ("kmip", "kmip", "kmip", "tls_skip_verify", "tlsSkipVerify"),
    ("ocikms", "ocikms", "ocikms", "compartment_id", "compartmentID"),
)


def _options_openbao_lacks(spec: OpenBaoClusterSpec) -> list[IgnoredField]:
    unseal = spec.unseal
    if unseal is None:
        return []
    found = []
    for seal_type, block_attr, block_json, attr, json_name in _NOT_OPENBAO_OPTIONS:
        block = getattr(unseal, block_attr)
        if unseal.type == seal_type and block is not None and getattr(block, attr) is not None:
            found.append(
                IgnoredField(f"spec.unseal.{block_json}.{json_name}", f"not an option of OpenBao's {seal_type} seal")
            )
    return found


def _unused_seal_blocks(spec: OpenBaoClusterSpec) -> list[IgnoredField]:
    unseal = spec.unseal
    if unseal is None:
        return []
    return [
        IgnoredField(f"spec.unseal.{json_name}", f"unseal.type is {unseal.type}, so this block is not used")
        for seal_type, json_name, attr in _SEAL_BLOCKS
        if getattr(unseal, attr) is not None and unseal.type != seal_type
    ]


def ignored_fields(spec: OpenBaoClusterSpec) -> list[IgnoredField]:
    """Every set field of `spec` that has no effect here, in spec order."""
    found: list[IgnoredField] = []
    if spec.init_container is not None:
        found.append(
            IgnoredField(
                "spec.initContainer", "pods need no init container here; config.hcl is rendered by the operator"
            )
        )
    found += _unused_seal_blocks(spec)
    found += _inline_secrets(spec)
    found += _options_openbao_lacks(spec)
    if spec.self_init is not None and spec.self_init.oidc is not None and spec.self_init.oidc.enabled:
        found.append(
            IgnoredField(
                "spec.selfInit.oidc", "the operator's JWT auth bootstrap is not implemented; add requests instead"
            )
        )
    if spec.observability and spec.observability.metrics and spec.observability.metrics.service_monitor:
        found.append(
            IgnoredField("spec.observability.metrics.serviceMonitor", "ServiceMonitor creation is not implemented")
        )
    if spec.operator_image_verification is not None:
        found.append(
            IgnoredField(
                "spec.operatorImageVerification", "verifies the reference operator's init image, which is not used"
            )
        )
    if spec.upgrade is not None:
        if spec.upgrade.strategy == "BlueGreen":
            found.append(IgnoredField("spec.upgrade.strategy", "BlueGreen is not implemented; RollingUpdate is used"))
        for extra in sorted(spec.upgrade.model_extra or {}):
            found.append(IgnoredField(f"spec.upgrade.{extra}", "not implemented"))
    if spec.backup is not None:
        found.append(IgnoredField("spec.backup", "scheduled backups are not implemented"))
    if spec.restore is not None:
        found.append(IgnoredField("spec.restore", "restores are not implemented"))
    if spec.break_glass_ack is not None:
        found.append(IgnoredField("spec.breakGlassAck", "break-glass operations are not implemented"))
    return found
