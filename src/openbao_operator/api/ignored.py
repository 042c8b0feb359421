"""Fields that are accepted but not acted on, so that status can name them instead of ignoring them silently.

Manifests written for the reference operator must be accepted unchanged, including fields this operator
does not implement (backups, blue/green) or does not need (the init container), and fields that have no
effect on the chosen OpenBao version (OpenBao itself would skip them, or does not have them yet). Secrets
written inline into the CR are accepted too, but never rendered: they must come from the credentials Secret.
Each such field found in a spec is reported with the reason and what to do instead; the renderer leaves
them out of config.hcl, the controller turns the list into the FieldsIgnored condition and the CLI prints it
as warnings. docs/compatibility.md lists every kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cluster import OpenBaoClusterSpec
from .configuration import AUDIT_OPTION_ATTRS, OPENBAO_DOWNLOAD_BEHAVIORS, plugin_problem
from .k8s import LocalObjectReference
from .seal import INLINE_CREDENTIALS, OCI_AUTH_TYPES, SEAL_BLOCKS
from .versions import DECLARATIVE_PLUGINS, parse_version, show

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
    oci = unseal.ocikms
    if (
        unseal.type == "ocikms"
        and oci is not None
        and oci.auth_type is not None
        and oci.auth_type not in OCI_AUTH_TYPES
    ):
        found.append(
            IgnoredField(
                "spec.unseal.ocikms.authType",
                f"not one of {', '.join(OCI_AUTH_TYPES)}; OpenBao uses the instance principal",
            )
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


_EMPTY_REF = "an empty name refers to nothing, so this reference is not used"


def _empty_references(spec: OpenBaoClusterSpec) -> list[IgnoredField]:
    """References and list entries whose empty value (the reference operator's CRD default) names nothing."""
    refs: list[tuple[str, LocalObjectReference | None]] = []
    refs += [(f"spec.imagePullSecrets[{i}]", r) for i, r in enumerate(spec.image_pull_secrets or ())]
    if spec.unseal is not None:
        refs.append(("spec.unseal.credentialsSecretRef", spec.unseal.credentials_secret_ref))
    verification = spec.image_verification
    if verification is not None:
        refs += [
            (f"spec.imageVerification.imagePullSecrets[{i}]", r)
            for i, r in enumerate(verification.image_pull_secrets or ())
        ]
        refs.append(("spec.imageVerification.trustedRootConfigMapRef", verification.trusted_root_config_map_ref))
    found = [IgnoredField(path, _EMPTY_REF) for path, ref in refs if ref is not None and not ref.name]
    found += [
        IgnoredField(f"spec.tls.extraSANs[{i}]", "empty, so it names nothing; skipped")
        for i, san in enumerate(spec.tls.extra_sans or ())
        if not san.strip()
    ]
    network = spec.network
    found += [
        IgnoredField(f"spec.network.apiServerEndpointIPs[{i}]", "empty, so it names nothing; skipped")
        for i, ip in enumerate((network.api_server_endpoint_i_ps if network is not None else None) or ())
        if not ip.strip()
    ]
    if spec.storage.storage_class_name == "":
        found.append(
            IgnoredField(
                "spec.storage.storageClassName",
                "an empty class means the cluster's default StorageClass, as in the reference operator (not "
                'Kubernetes\' "no dynamic provisioning"); to bind pre-provisioned volumes, name their class',
            )
        )
    return found


def _tls(spec: OpenBaoClusterSpec) -> list[IgnoredField]:
    tls = spec.tls
    found = []
    if tls.mode == "ACME" and not tls.enabled:
        found.append(
            IgnoredField(
                "spec.tls.enabled",
                "false has no effect with mode ACME: OpenBao still obtains its certificate by ACME (as with the "
                "reference operator); use mode OperatorManaged or External with enabled=false to serve without TLS",
            )
        )
    if tls.mode != "ACME" and tls.acme is not None:
        found.append(IgnoredField("spec.tls.acme", f"tls.mode is {tls.mode}, so the ACME settings are not used"))
    conf = spec.configuration
    if tls.mode != "ACME" and conf is not None and conf.acme_ca_root is not None:
        found.append(IgnoredField("spec.configuration.acmeCARoot", f"only used with tls.mode ACME (it is {tls.mode})"))
    return found


def _plugins(spec: OpenBaoClusterSpec) -> list[IgnoredField]:
    version = parse_version(spec.version)
    gated = version is not None and version < DECLARATIVE_PLUGINS
    before = f"needs OpenBao >= {show(DECLARATIVE_PLUGINS)} (spec.version is {spec.version}); not written to config.hcl"
    found: list[IgnoredField] = []
    settings = spec.configuration.plugin if spec.configuration is not None else None
    if settings is not None:
        for json_name, value in (
            ("autoDownload", settings.auto_download),
            ("autoRegister", settings.auto_register),
            ("downloadBehavior", settings.download_behavior),
        ):
            if value is not None and gated:
                found.append(IgnoredField(f"spec.configuration.plugin.{json_name}", before))
        behavior = settings.download_behavior
        if behavior is not None and behavior not in OPENBAO_DOWNLOAD_BEHAVIORS and not gated:
            found.append(
                IgnoredField(
                    "spec.configuration.plugin.downloadBehavior",
                    f"{behavior!r} is not an OpenBao value (OpenBao takes {' or '.join(OPENBAO_DOWNLOAD_BEHAVIORS)} "
                    "and only logs a warning about others); not written to config.hcl",
                )
            )
    for i, plugin in enumerate(spec.plugins or ()):
        problem = plugin_problem(plugin)
        if gated:
            found.append(IgnoredField(f"spec.plugins[{i}]", f"a declarative plugin {before}"))
        elif problem is not None:
            found.append(IgnoredField(f"spec.plugins[{i}]", f"OpenBao would skip this plugin ({problem}); not written"))
        elif plugin.image is not None and plugin.command is not None:
            found.append(IgnoredField(f"spec.plugins[{i}].command", "image is set and wins; command is not written"))
    return found


def _audit(spec: OpenBaoClusterSpec) -> list[IgnoredField]:
    found: list[IgnoredField] = []

    def check(where: str, audit_type: str, device: object, has_raw_options: bool) -> None:
        used = False
        for json_name, attr in AUDIT_OPTION_ATTRS.items():
            if getattr(device, attr) is None:
                continue
            if json_name.removesuffix("Options") == audit_type:
                used = True
            else:
                found.append(IgnoredField(f"{where}.{json_name}", f"only used when type is {json_name[:-7]}"))
        if used and has_raw_options:
            found.append(IgnoredField(f"{where}.options", f"the structured {audit_type}Options are used instead"))

    for i, device in enumerate(spec.audit or ()):
        check(f"spec.audit[{i}]", device.type, device, device.options is not None)
    for i, req in enumerate((spec.self_init.requests if spec.self_init is not None else None) or ()):
        if req.audit_device is not None:
            check(f"spec.selfInit.requests[{i}].auditDevice", req.audit_device.type, req.audit_device, False)
    return found


_STRUCTURED = (
    ("sys/audit/", "auditDevice", "audit_device"),
    ("sys/auth/", "authMethod", "auth_method"),
    ("sys/mounts/", "secretEngine", "secret_engine"),
    ("sys/policies/", "policy", "policy"),
)


def _self_init(spec: OpenBaoClusterSpec) -> list[IgnoredField]:
    si = spec.self_init
    found: list[IgnoredField] = []
    if si is not None and si.oidc is not None and si.oidc.enabled and not si.enabled:
        found.append(IgnoredField("spec.selfInit.oidc", "only used with spec.selfInit.enabled: true"))
    for i, req in enumerate((si.requests if si is not None else None) or ()):
        structured_used = False
        for prefix, json_name, attr in _STRUCTURED:
            if getattr(req, attr) is None:
                continue
            if req.path.startswith(prefix):
                structured_used = True
            else:
                found.append(
                    IgnoredField(f"spec.selfInit.requests[{i}].{json_name}", f"only used for paths under {prefix}")
                )
        if structured_used and req.data is not None:
            found.append(IgnoredField(f"spec.selfInit.requests[{i}].data", "the structured field is used instead"))
    conf = spec.configuration
    if (si is None or not si.enabled) and conf is not None and conf.raft is not None and conf.raft.autopilot:
        found.append(
            IgnoredField(
                "spec.configuration.raft.autopilot",
                "applied only at self-initialization here (spec.selfInit.enabled is not true); set it with "
                "`bao operator raft autopilot set-config` instead",
            )
        )
    return found


_UPGRADE_USED = frozenset({"strategy", "pre_upgrade_snapshot", "auto_rollback"})


def _upgrade(spec: OpenBaoClusterSpec) -> list[IgnoredField]:
    upgrade = spec.upgrade
    if upgrade is None:
        return []
    found = []
    if upgrade.strategy == "BlueGreen":
        found.append(IgnoredField("spec.upgrade.strategy", "BlueGreen is not implemented; RollingUpdate is used"))
    for attr, info in type(upgrade).model_fields.items():
        if attr not in _UPGRADE_USED and getattr(upgrade, attr) is not None:
            found.append(IgnoredField(f"spec.upgrade.{info.alias or attr}", "not implemented"))
    return found


def ignored_fields(spec: OpenBaoClusterSpec) -> list[IgnoredField]:
    """Every set field of `spec` that has no effect here, in spec order."""
    found: list[IgnoredField] = []
    if spec.init_container is not None:
        found.append(
            IgnoredField(
                "spec.initContainer", "pods need no init container here; config.hcl is rendered by the operator"
            )
        )
    found += _tls(spec)
    found += _unused_seal_blocks(spec)
    found += _inline_secrets(spec)
    found += _options_openbao_lacks(spec)
    found += _empty_references(spec)
    found += _plugins(spec)
    found += _audit(spec)
    found += _self_init(spec)
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
    found += _upgrade(spec)
    si = spec.self_init
    oidc = si is not None and si.enabled and si.oidc is not None and si.oidc.enabled
    if spec.restore is not None and not oidc:
        found.append(IgnoredField("spec.restore", "its jwtAuthRole is used only with selfInit.oidc.enabled"))
    if spec.break_glass_ack is not None:
        found.append(IgnoredField("spec.breakGlassAck", "break-glass operations are not implemented"))
    return found
