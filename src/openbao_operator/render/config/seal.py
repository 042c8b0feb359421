"""``seal "<type>"`` (and, for vendor KMS on new OpenBao, ``plugin "kms"``), with OpenBao's option names.

Why:
- Option names are OpenBao's (its seal documentation), not the reference's: its kmip, ocikms and pkcs11
  names fail or are ignored by real OpenBao. Reference-only options with no OpenBao meaning
  (pkcs11 ``hmacKeyLabel``/``generateKey``/``rsaEncryptLocal``, kmip ``tlsSkipVerify``, ocikms
  ``compartmentID``) are not rendered.
- Secrets never go into the file (it is a ConfigMap): transit token, cloud keys, client secrets and the HSM
  PIN reach the pod from the credentials Secret; :mod:`.secrets` lists the variable for each.
- Version gates: the static seal needs 2.4; KMS plugins need 2.6; from 2.7 the built-in awskms, gcpckms,
  azurekeyvault, ocikms and pkcs11 are gone ("unknown wrapper"), so those need ``spec.unseal.kmsPlugin``,
  rendered as ``plugin "kms" "<name>"`` next to ``seal "<name>"``. An image-based plugin is downloaded by
  OpenBao at startup, so ``plugin_auto_download`` is switched on for it (see :func:`needs_auto_download`).
"""

from __future__ import annotations

from openbao_operator.api.names import UNSEAL_PREVIOUS_KEY_FILE
from openbao_operator.api.seal import (
    KMS_PLUGIN_TYPES,
    OCI_AUTH_TYPES,
    STATIC_KEY_ID,
    STATIC_KEY_PATH,
    KmsPlugin,
    StaticSeal,
    UnsealConfig,
)
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.hcl import Attr, Block, Item

from .context import Context
from .errors import ConfigRenderError
from .version import BUILTIN_VENDOR_SEALS_REMOVED, KMS_PLUGINS, STATIC_SEAL, require, show

_UNSEAL = "spec.unseal"


def _attrs(*pairs: tuple[str, str | bool | int | None]) -> list[Item]:
    """Attributes for the options that are set, in the order given."""
    return [Attr(k, v) for k, v in pairs if v is not None]


def _options(unseal: UnsealConfig, ctx: Context) -> list[Item]:
    """The seal's options for ``unseal.type``; the API guarantees the matching block is present."""
    t = unseal.type
    if t == "transit":
        s = unseal.transit
        assert s is not None
        return _attrs(
            ("address", s.address),
            ("key_name", s.key_name),
            ("mount_path", s.mount_path),
            ("namespace", s.namespace),
            ("disable_renewal", s.disable_renewal),
            ("tls_ca_cert", s.tls_ca_cert),
            ("tls_client_cert", s.tls_client_cert),
            ("tls_client_key", s.tls_client_key),
            ("tls_server_name", s.tls_server_name),
            ("tls_skip_verify", s.tls_skip_verify),
        )
    if t == "awskms":
        a = unseal.awskms
        assert a is not None
        return _attrs(("region", a.region), ("kms_key_id", a.kms_key_id), ("endpoint", a.endpoint))
    if t == "azurekeyvault":
        z = unseal.azure_key_vault
        assert z is not None
        return _attrs(
            ("tenant_id", z.tenant_id),
            ("client_id", z.client_id),
            ("environment", z.environment),
            ("vault_name", z.vault_name),
            ("key_name", z.key_name),
            ("resource", z.resource),
        )
    if t == "gcpckms":
        g = unseal.gcp_cloud_kms
        assert g is not None
        return _attrs(
            ("credentials", g.credentials),
            ("project", g.project),
            ("region", g.region),
            ("key_ring", g.key_ring),
            ("crypto_key", g.crypto_key),
        )
    if t == "kmip":
        k = unseal.kmip
        assert k is not None
        if not k.kms_key_id:
            raise ConfigRenderError(
                f"{_UNSEAL}.kmip.kmsKeyID",
                "required: set the id of the key on the KMIP server; OpenBao's kmip seal cannot start without it "
                '(bao stops: "key id not found"). The reference operator has no such field',
            )
        return _attrs(
            ("kms_key_id", k.kms_key_id),
            ("endpoint", k.address),
            ("client_cert", k.certificate),
            ("client_key", k.key),
            ("ca_cert", k.ca_cert),
            ("server_name", k.tls_server_name),
            ("timeout", k.timeout),
            ("encrypt_alg", k.encrypt_alg),
        )
    if t == "ocikms":
        o = unseal.ocikms
        assert o is not None
        api_key = OCI_AUTH_TYPES.get(o.auth_type) if o.auth_type is not None else None
        return _attrs(
            ("key_id", o.key_id),
            ("crypto_endpoint", o.crypto_endpoint),
            ("management_endpoint", o.management_endpoint),
            ("auth_type_api_key", api_key),
        )
    if t == "pkcs11":
        p = unseal.pkcs11
        assert p is not None
        return _attrs(
            ("lib", p.lib),
            ("slot", p.slot),
            ("token_label", p.token_label),
            ("key_label", p.key_label),
            ("key_id", p.key_id),
            ("mechanism", p.mechanism),
            ("rsa_oaep_hash", p.rsa_oaep_hash),
            ("disable_software_encryption", p.disable_software_encryption),
        )
    raise ConfigRenderError(f"{_UNSEAL}.type", f"unsupported seal type {t!r}")  # pragma: no cover - API enum


def _static(static: StaticSeal | None, facts: RenderFacts) -> Block:
    """The key ids come from the seal plan when it has run (bound to each key Secret at its creation, so a
    later edit of currentKeyID, or a rotation, can never pair a key with another key's id); the render
    without a live cluster (CLI) shows the spec's id of the first key. During a rotation the old key is
    OpenBao's ``previous_key``, read from its own Secret volume, until the data is rewrapped."""
    s = static or StaticSeal()
    current_id = facts.unseal_key.key_id if facts.unseal_key is not None else s.current_key_id or STATIC_KEY_ID
    body = [Attr("current_key_id", current_id), Attr("current_key", s.current_key or STATIC_KEY_PATH)]
    previous = facts.unseal_previous_key
    if previous is not None:
        body += [Attr("previous_key_id", previous.key_id), Attr("previous_key", f"file://{UNSEAL_PREVIOUS_KEY_FILE}")]
    return Block("seal", ("static",), tuple(body))


def _plugin(plugin: KmsPlugin, name: str) -> Block:
    body: list[Item] = []
    if plugin.image is not None:
        body += _attrs(("image", plugin.image), ("version", plugin.version), ("binary_name", plugin.binary_name))
    else:
        body += _attrs(("command", plugin.command), ("version", plugin.version))
    body += _attrs(("sha256sum", plugin.sha256sum))
    if plugin.args:
        body.append(Attr("args", list(plugin.args)))
    if plugin.env:
        body.append(Attr("env", list(plugin.env)))
    return Block("plugin", ("kms", name), tuple(body))


def uses_kms_plugin(ctx: Context) -> bool:
    unseal = ctx.spec.unseal
    return unseal is not None and unseal.type in KMS_PLUGIN_TYPES and unseal.kms_plugin is not None


def needs_auto_download(ctx: Context) -> bool:
    """An image-based KMS plugin must be downloaded before the seal can start."""
    unseal = ctx.spec.unseal
    return (
        uses_kms_plugin(ctx) and unseal is not None and unseal.kms_plugin is not None and bool(unseal.kms_plugin.image)
    )


def seal(ctx: Context) -> list[Block]:
    """The seal stanza, preceded by its ``plugin "kms"`` block where the seal is a KMS plugin."""
    unseal = ctx.spec.unseal
    if unseal is None or unseal.type == "static":
        require(ctx.version, STATIC_SEAL, f"{_UNSEAL}.type", "the static seal (the default)")
        return [_static(unseal.static if unseal is not None else None, ctx.facts)]
    options = _options(unseal, ctx)
    if unseal.type not in KMS_PLUGIN_TYPES:
        return [Block("seal", (unseal.type,), tuple(options))]
    plugin = unseal.kms_plugin
    if plugin is None:
        if ctx.version >= BUILTIN_VENDOR_SEALS_REMOVED:
            raise ConfigRenderError(
                f"{_UNSEAL}.kmsPlugin",
                f"required for unseal type {unseal.type}: OpenBao {show(BUILTIN_VENDOR_SEALS_REMOVED)} removed the "
                f'built-in {unseal.type} seal (bao stops: "unknown wrapper"; spec.version is {show(ctx.version)}); '
                "name the KMS plugin that provides it",
            )
        return [Block("seal", (unseal.type,), tuple(options))]
    require(ctx.version, KMS_PLUGINS, f"{_UNSEAL}.kmsPlugin", "a KMS plugin seal")
    name = plugin.name or unseal.type
    return [_plugin(plugin, name), Block("seal", (name,), tuple(options))]
