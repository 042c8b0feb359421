"""Where each secret of a seal comes from, since none is ever written into config.hcl.

config.hcl is a ConfigMap, so a secret in it would be readable by anyone who can read ConfigMaps. OpenBao
(and the KMS plugins, which inherit the server's environment) read these secrets from the environment or
from files instead. The workload renderer wires each entry below from ``spec.unseal.credentialsSecretRef``
(``secretKeyRef`` to the key of the same name, or the Secret mounted at ``SEAL_CREDS_DIR``); the values in
the CR's deprecated inline fields are never used.

Evidence: the transit row was checked against bao 2.7.2 (``VAULT_TRANSIT_SEAL_TOKEN``, ``VAULT_TOKEN`` and
``BAO_TOKEN`` all authenticate the seal). ``VAULT_TRANSIT_SEAL_TOKEN`` is chosen because it is read by the
seal only: ``BAO_TOKEN``/``VAULT_TOKEN`` are also the default token of every API client in the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from openbao_operator.api import names


@dataclass(frozen=True, slots=True)
class SealCredential:
    """One secret a seal needs: the environment variable that carries it and the Secret key it comes from."""

    env: str
    """Environment variable read by OpenBao or the KMS plugin."""
    secret_key: str
    """Key in the credentials Secret (``spec.unseal.credentialsSecretRef``)."""
    replaces: str | None
    """The deprecated inline spec field it replaces, if any."""
    optional: bool = True
    """False when the seal cannot work without it."""
    file: bool = False
    """True when the variable holds a path into the mounted Secret, not the value itself."""


SEAL_CREDENTIALS: Final[dict[str, tuple[SealCredential, ...]]] = {
    "transit": (SealCredential("VAULT_TRANSIT_SEAL_TOKEN", "token", "spec.unseal.transit.token", optional=False),),
    "awskms": (
        SealCredential("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID", "spec.unseal.awskms.accessKey"),
        SealCredential("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "spec.unseal.awskms.secretKey"),
        SealCredential("AWS_SESSION_TOKEN", "AWS_SESSION_TOKEN", "spec.unseal.awskms.sessionToken"),
    ),
    "azurekeyvault": (
        SealCredential("AZURE_CLIENT_SECRET", "AZURE_CLIENT_SECRET", "spec.unseal.azureKeyVault.clientSecret"),
    ),
    # The credentials file itself is the secret: the variable points into the mounted Secret (unless
    # spec.unseal.gcpCloudKMS.credentials names another path, which is then rendered as `credentials`).
    "gcpckms": (
        SealCredential(
            "GOOGLE_APPLICATION_CREDENTIALS",
            "credentials.json",
            None,
            file=True,
        ),
    ),
    "pkcs11": (SealCredential("BAO_HSM_PIN", "BAO_HSM_PIN", "spec.unseal.pkcs11.pin"),),
    # kmip: client certificate and key are files named by the spec (e.g. under SEAL_CREDS_DIR).
    # ocikms: API-key authentication reads the OCI SDK configuration; instance principal needs nothing.
    "kmip": (),
    "ocikms": (),
    "static": (),
}
"""Per seal type, the secrets that reach the pod through the environment."""

GCP_CREDENTIALS_FILE: Final = f"{names.SEAL_CREDS_DIR}/credentials.json"
"""Value of GOOGLE_APPLICATION_CREDENTIALS when the Secret is mounted at SEAL_CREDS_DIR."""

TELEMETRY_SECRETS_NOT_SUPPORTED: Final = ("spec.telemetry.circonusAPIKey",)
"""Secrets with no environment variable in OpenBao: ``circonus_api_token`` can only be set in a config file,
so it is never rendered (a ConfigMap would expose it); Circonus needs a token-free setup (a check submission
URL) or a separate Secret-backed config file, which the operator does not offer."""
