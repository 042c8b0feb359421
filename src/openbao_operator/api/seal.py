"""`spec.unseal`: which seal protects the root key (static key by default, or a KMS / HSM / transit).

Field names follow the reference operator, so its manifests keep working. Where the reference names
an option differently from OpenBao (kmip, ocikms, pkcs11), the OpenBao option is added here too and
the renderer maps both to what OpenBao documents. Fields that hold secrets (tokens, keys, PINs) are
accepted for compatibility but never written into config.hcl: the renderer passes them through the
credentials Secret instead (see credentialsSecretRef).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NamedTuple

from pydantic import Field

from .base import ApiModel, Rule
from .constants import STATIC_KEY_ID as STATIC_KEY_ID
from .k8s import LocalObjectReference
from .types import EMPTY_IS_UNSET, HclStr, ImageRef, NonEmptyHclStr, RotationId, Sha256

SealType = Literal["static", "awskms", "gcpckms", "azurekeyvault", "transit", "kmip", "ocikms", "pkcs11"]

KMS_PLUGIN_TYPES: frozenset[str] = frozenset({"awskms", "gcpckms", "azurekeyvault", "ocikms", "pkcs11"})
"""Seal types that OpenBao 2.6 deprecated as built-ins and 2.7 removed in favour of KMS plugins."""


STATIC_KEY_PATH = "file:///etc/bao/unseal/key"
"""Where the static seal reads the operator-generated key (the mount of <name>-unseal-key)."""


class StaticSeal(ApiModel):
    """The static seal: a 32-byte key from a Secret the operator creates once and never overwrites."""

    current_key: Annotated[NonEmptyHclStr | None, EMPTY_IS_UNSET] = STATIC_KEY_PATH
    """Where OpenBao reads the key (file:// or env://); empty means the default."""
    current_key_id: Annotated[NonEmptyHclStr | None, EMPTY_IS_UNSET] = Field(
        default=STATIC_KEY_ID, alias="currentKeyID"
    )
    """The identifier of the first key (bound to it when it is created); it must change whenever the key
    changes, so keys created by a rotation get `operator-rotated-<rotationID>` instead."""
    rotation_id: RotationId | None = Field(default=None, alias="rotationID")
    """Set or change it to rotate the key: the operator creates a new key Secret `<name>-unseal-key-<rotationID>`,
    keeps the old key mounted as OpenBao's previous key until the data is rewrapped with the new one, then
    stops mounting (but never deletes) the old key. Pods are restarted by the ordered rollout twice."""


class TransitSeal(ApiModel):
    """Auto-unseal through another OpenBao or Vault's transit engine."""

    address: NonEmptyHclStr
    """Address of the transit server."""
    token: str | None = None
    """Deprecated here (a secret in the CR): put key `token` in credentialsSecretRef instead. Never written
    into config.hcl."""
    key_name: NonEmptyHclStr
    """Transit key name."""
    mount_path: NonEmptyHclStr
    """Mount path of the transit engine."""
    namespace: HclStr | None = None
    """Namespace of the transit mount."""
    disable_renewal: bool | None = None
    """Do not renew the token."""
    tls_ca_cert: HclStr | None = Field(default=None, alias="tlsCACert")
    """CA file that verifies the transit server."""
    tls_client_cert: HclStr | None = None
    """Client certificate file."""
    tls_client_key: HclStr | None = None
    """Client key file."""
    tls_server_name: HclStr | None = None
    """SNI name of the transit server."""
    tls_skip_verify: bool | None = None
    """Skip TLS verification of the transit server (insecure)."""


class AwsKmsSeal(ApiModel):
    """AWS KMS."""

    region: NonEmptyHclStr
    """AWS region of the key."""
    kms_key_id: NonEmptyHclStr = Field(alias="kmsKeyID")
    """KMS key id or ARN."""
    endpoint: HclStr | None = None
    """Custom KMS endpoint."""
    access_key: str | None = None
    """Deprecated here (a secret in the CR): use AWS_ACCESS_KEY_ID in credentialsSecretRef."""
    secret_key: str | None = None
    """Deprecated here (a secret in the CR): use AWS_SECRET_ACCESS_KEY in credentialsSecretRef."""
    session_token: str | None = None
    """Deprecated here (a secret in the CR): use AWS_SESSION_TOKEN in credentialsSecretRef."""


class AzureKeyVaultSeal(ApiModel):
    """Azure Key Vault."""

    vault_name: NonEmptyHclStr
    """Key Vault name."""
    key_name: NonEmptyHclStr
    """Key name."""
    tenant_id: HclStr | None = Field(default=None, alias="tenantID")
    """Azure tenant id."""
    client_id: HclStr | None = Field(default=None, alias="clientID")
    """Azure client id."""
    client_secret: str | None = None
    """Deprecated here (a secret in the CR): use AZURE_CLIENT_SECRET in credentialsSecretRef."""
    resource: HclStr | None = None
    """Azure AD resource."""
    environment: HclStr | None = None
    """Azure environment name."""


class GcpCloudKmsSeal(ApiModel):
    """Google Cloud KMS."""

    project: NonEmptyHclStr
    """GCP project."""
    region: NonEmptyHclStr
    """Key ring location."""
    key_ring: NonEmptyHclStr
    """Key ring name."""
    crypto_key: NonEmptyHclStr
    """Crypto key name."""
    credentials: HclStr | None = None
    """Path of the credentials file inside the pod (default: credentials.json from credentialsSecretRef)."""


class KmipSeal(ApiModel):
    """A KMIP server."""

    address: NonEmptyHclStr
    """KMIP server address, host:port (OpenBao's `endpoint`)."""
    kms_key_id: NonEmptyHclStr | None = Field(default=None, alias="kmsKeyID")
    """Id of the key on the KMIP server (OpenBao's `kms_key_id`); OpenBao fails with "key id not found"
    without it. Missing from the reference operator."""
    certificate: HclStr | None = None
    """Client certificate file (OpenBao's `client_cert`)."""
    key: HclStr | None = None
    """Client key file (OpenBao's `client_key`)."""
    ca_cert: HclStr | None = None
    """CA file that verifies the server."""
    tls_server_name: HclStr | None = None
    """Server name to verify (OpenBao's `server_name`)."""
    tls_skip_verify: bool | None = None
    """Skip TLS verification (insecure)."""
    timeout: Annotated[int, Field(ge=1)] | None = None
    """Request timeout in seconds (OpenBao default 10)."""
    encrypt_alg: Literal["AES_GCM", "RSA_OAEP_SHA256", "RSA_OAEP_SHA384", "RSA_OAEP_SHA512"] | None = None
    """Encryption algorithm (OpenBao default AES_GCM)."""


OCI_AUTH_TYPES: dict[str, bool] = {
    "apikey": True,
    "user_principal": True,
    "instanceprincipal": False,
    "instance_principal": False,
}
"""ocikms authType values and OpenBao's auth_type_api_key for each (this operator's and the reference's)."""


class OciKmsSeal(ApiModel):
    """Oracle Cloud Infrastructure KMS."""

    key_id: NonEmptyHclStr = Field(alias="keyID")
    """OCID of the key."""
    crypto_endpoint: NonEmptyHclStr
    """Crypto endpoint of the vault."""
    management_endpoint: NonEmptyHclStr
    """Management endpoint of the vault."""
    auth_type: HclStr | None = None
    """How OpenBao authenticates to OCI: apikey or user_principal (an API key from the credentials Secret,
    OpenBao's auth_type_api_key = true), or instanceprincipal / instance_principal (the default). The
    reference operator wrote this as `auth_type`, which OpenBao does not read; any other value is reported as
    ignored and the instance principal is used."""
    compartment_id: HclStr | None = Field(default=None, alias="compartmentID")
    """Compartment OCID."""


class Pkcs11Seal(ApiModel):
    """A PKCS#11 HSM."""

    rules = (
        Rule(
            cel="!(has(self.slot) && has(self.tokenLabel))",
            check=lambda m: not (m.slot is not None and m.token_label is not None),
            message="set either slot or tokenLabel, not both",
            field="tokenLabel",
        ),
    )

    lib: NonEmptyHclStr
    """Path of the PKCS#11 library inside the pod."""
    slot: HclStr | None = None
    """Slot number of the token."""
    token_label: HclStr | None = None
    """Token label, instead of slot."""
    pin: str | None = None
    """Deprecated here (a secret in the CR): use BAO_HSM_PIN in credentialsSecretRef."""
    key_label: NonEmptyHclStr
    """Label of the key."""
    key_id: HclStr | None = Field(default=None, alias="keyID")
    """Id of the key."""
    hmac_key_label: HclStr | None = None
    """Accepted for parity with the reference; OpenBao's pkcs11 seal has no HMAC key, so it is not rendered."""
    generate_key: bool | None = None
    """Accepted for parity with the reference; OpenBao's pkcs11 seal does not generate keys, so it is not
    rendered."""
    rsa_encrypt_local: bool | None = None
    """Accepted for parity with the reference; not an OpenBao option, so it is not rendered."""
    rsa_oaep_hash: Literal["sha1", "sha224", "sha256", "sha384", "sha512"] | None = Field(
        default=None, alias="rsaOAEPHash"
    )
    """Hash for RSA-OAEP."""
    mechanism: HclStr | None = None
    """Encryption mechanism, such as 0x1087 (CKM_AES_GCM)."""
    disable_software_encryption: bool | None = None
    """Encrypt in the HSM, not in software."""


class KmsPlugin(ApiModel):
    """The KMS plugin that implements a vendor seal on OpenBao 2.6 and later (`plugin "kms"` + `seal`).

    OpenBao 2.7 removed the built-in awskms, gcpckms, azurekeyvault, ocikms and pkcs11 seals; there
    the seal needs this plugin. The seal block's options are passed to the plugin unchanged.
    """

    rules = (
        Rule(
            cel="has(self.image) != has(self.command)",
            check=lambda m: (m.image is None) != (m.command is None),
            message="set exactly one of image or command",
            field="image",
        ),
    )

    name: NonEmptyHclStr | None = None
    """Plugin name, used as the seal type (default: the unseal type, so it shadows the removed built-in)."""
    image: ImageRef | None = None
    """OCI image that carries the plugin binary; OpenBao downloads it (plugin_auto_download)."""
    command: NonEmptyHclStr | None = None
    """File name of a plugin binary already present in the plugin directory."""
    version: NonEmptyHclStr | None = None
    """Plugin version (the image tag when image has none)."""
    binary_name: NonEmptyHclStr | None = None
    """Name of the binary inside the image."""
    sha256sum: Sha256 | None = Field(default=None, alias="sha256sum")
    """SHA-256 of the plugin binary."""
    args: list[HclStr] | None = None
    """Arguments passed to the plugin."""
    env: list[HclStr] | None = None
    """Environment (KEY=VALUE) passed to the plugin."""


class InlineCredential(NamedTuple):
    """A deprecated seal field that carries a secret in the resource itself."""

    block: str
    """JSON name of the seal block (``transit``)."""
    block_attr: str
    """Model attribute of the block."""
    field: str
    """JSON name of the field (``token``)."""
    attr: str
    """Model attribute of the field."""
    secret_key: str
    """Key of the credentials Secret (spec.unseal.credentialsSecretRef) that replaces it."""

    @property
    def path(self) -> str:
        """``unseal.<block>.<field>``, relative to the spec."""
        return f"unseal.{self.block}.{self.field}"

    def value(self, unseal: Any) -> str | None:
        block = getattr(unseal, self.block_attr, None) if unseal is not None else None
        value = getattr(block, self.attr, None) if block is not None else None
        return value if isinstance(value, str) else None


INLINE_CREDENTIALS: tuple[InlineCredential, ...] = (
    InlineCredential("transit", "transit", "token", "token", "token"),
    InlineCredential("awskms", "awskms", "accessKey", "access_key", "AWS_ACCESS_KEY_ID"),
    InlineCredential("awskms", "awskms", "secretKey", "secret_key", "AWS_SECRET_ACCESS_KEY"),
    InlineCredential("awskms", "awskms", "sessionToken", "session_token", "AWS_SESSION_TOKEN"),
    InlineCredential("azureKeyVault", "azure_key_vault", "clientSecret", "client_secret", "AZURE_CLIENT_SECRET"),
    InlineCredential("pkcs11", "pkcs11", "pin", "pin", "BAO_HSM_PIN"),
)
"""Every seal field that holds a secret inline: never rendered, reported (FieldsIgnored), refused under Hardened."""


def _block_present(spec: Any, seal_type: str, attr: str) -> bool:
    return spec.type != seal_type or getattr(spec, attr) is not None


SEAL_BLOCKS: tuple[tuple[str, str, str], ...] = (
    # (seal type, JSON name of its settings block, model attribute); static has defaults and no rule.
    ("transit", "transit", "transit"),
    ("awskms", "awskms", "awskms"),
    ("azurekeyvault", "azureKeyVault", "azure_key_vault"),
    ("gcpckms", "gcpCloudKMS", "gcp_cloud_kms"),
    ("kmip", "kmip", "kmip"),
    ("ocikms", "ocikms", "ocikms"),
    ("pkcs11", "pkcs11", "pkcs11"),
)


def _block_rule(seal_type: str, json_name: str, attr: str) -> Rule:
    return Rule(
        cel=f"self.type != '{seal_type}' || has(self.{json_name})",
        check=lambda m: _block_present(m, seal_type, attr),
        message=f"required when spec.unseal.type is {seal_type}",
        field=json_name,
    )


class UnsealConfig(ApiModel):
    """How OpenBao unseals itself. Missing, or type static, means the operator-generated static key."""

    rules = (
        *(_block_rule(t, j, a) for t, j, a in SEAL_BLOCKS),
        Rule(
            cel="self.type in ['awskms', 'gcpckms', 'azurekeyvault', 'ocikms', 'pkcs11'] || !has(self.kmsPlugin)",
            check=lambda m: m.type in KMS_PLUGIN_TYPES or m.kms_plugin is None,
            message="only used with unseal types awskms, gcpckms, azurekeyvault, ocikms and pkcs11",
            field="kmsPlugin",
        ),
        Rule(
            cel="self.type == 'static' || !has(self.static) || !has(self.static.rotationID)",
            check=lambda m: m.type == "static" or m.static is None or m.static.rotation_id is None,
            message="only the static seal has a key the operator rotates; unset it or use type static",
            field="static.rotationID",
        ),
    )

    type: SealType = "static"
    """The seal: static (default), awskms, gcpckms, azurekeyvault, transit, kmip, ocikms or pkcs11."""
    static: StaticSeal | None = None
    """Static seal settings."""
    transit: TransitSeal | None = None
    """Transit seal settings; required for type transit."""
    awskms: AwsKmsSeal | None = None
    """AWS KMS settings; required for type awskms."""
    azure_key_vault: AzureKeyVaultSeal | None = Field(default=None, alias="azureKeyVault")
    """Azure Key Vault settings; required for type azurekeyvault."""
    gcp_cloud_kms: GcpCloudKmsSeal | None = Field(default=None, alias="gcpCloudKMS")
    """Google Cloud KMS settings; required for type gcpckms."""
    kmip: KmipSeal | None = None
    """KMIP settings; required for type kmip."""
    ocikms: OciKmsSeal | None = None
    """OCI KMS settings; required for type ocikms."""
    pkcs11: Pkcs11Seal | None = None
    """PKCS#11 settings; required for type pkcs11."""
    kms_plugin: KmsPlugin | None = None
    """The KMS plugin for a vendor seal; needed from OpenBao 2.7, where the built-in vendor seals are gone."""
    credentials_secret_ref: LocalObjectReference | None = None
    """Secret with the seal's credentials, mounted at /etc/bao/seal-creds and, per provider, exposed as
    environment variables (AWS_*, AZURE_*, VAULT_TOKEN from key token, BAO_HSM_PIN, GOOGLE_APPLICATION_CREDENTIALS)."""
