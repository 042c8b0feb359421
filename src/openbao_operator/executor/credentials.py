"""Object-storage credentials, read from the files of a mounted Secret (``target.credentialsSecretRef``).

Why files: a Secret mounted as a volume never appears in the Job's spec, its environment or ``ps``; the keys
are the reference operator's (S3: accessKeyId, secretAccessKey, optional sessionToken, region, caCert; GCS:
credentials.json; Azure: accountKey or connectionString). Values are wrapped in
:class:`~openbao_operator.baoapi.Sensitive` so they cannot reach a log line by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from openbao_operator.baoapi import Sensitive

from .errors import ExecutorConfigError

S3_KEYS = ("accessKeyId", "secretAccessKey", "sessionToken", "region", "caCert")
GCS_KEY = "credentials.json"
AZURE_KEYS = ("accountKey", "connectionString")


@dataclass(frozen=True)
class StorageCredentials:
    """What a credentials Secret held; every value that is secret is Sensitive."""

    access_key_id: Sensitive | None = None
    secret_access_key: Sensitive | None = None
    session_token: Sensitive | None = None
    region: str | None = None
    ca_cert: str | None = None
    gcs_service_account: Sensitive | None = None
    azure_account_key: Sensitive | None = None
    azure_connection: dict[str, Sensitive] = field(default_factory=dict)

    def secrets(self) -> list[str]:
        """Every secret value, for scrubbing error messages that might echo one."""
        values = [
            self.access_key_id,
            self.secret_access_key,
            self.session_token,
            self.gcs_service_account,
            self.azure_account_key,
            *self.azure_connection.values(),
        ]
        return [v.reveal() for v in values if v is not None and v.reveal()]


def _read(directory: Path, name: str) -> str | None:
    path = directory / name
    if not path.is_file():
        return None
    return path.read_text().strip()


def parse_connection_string(text: str) -> dict[str, Sensitive]:
    """An Azure storage connection string (``AccountName=...;AccountKey=...;BlobEndpoint=...``)."""
    parts: dict[str, Sensitive] = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ExecutorConfigError("credentials", "connectionString: expected Name=value pairs separated by ';'")
        parts[name.strip()] = Sensitive(value.strip())
    return parts


def load_credentials(directory: str | None, *, provider: str) -> StorageCredentials:
    """The credentials for ``provider`` from a mounted Secret directory (None: ambient credentials)."""
    if directory is None:
        return StorageCredentials()
    root = Path(directory)
    if not root.is_dir():
        raise ExecutorConfigError("credentialsDir", f"{directory} is not a directory (is the Secret mounted?)")
    if provider == "s3":
        key_id, secret = _read(root, "accessKeyId"), _read(root, "secretAccessKey")
        if bool(key_id) != bool(secret):
            raise ExecutorConfigError(
                "target.credentialsSecretRef", "an S3 credentials Secret needs both accessKeyId and secretAccessKey"
            )
        token = _read(root, "sessionToken")
        return StorageCredentials(
            access_key_id=Sensitive(key_id) if key_id else None,
            secret_access_key=Sensitive(secret) if secret else None,
            session_token=Sensitive(token) if token else None,
            region=_read(root, "region"),
            ca_cert=_read(root, "caCert"),
        )
    if provider == "gcs":
        sa = _read(root, GCS_KEY)
        if not sa:
            raise ExecutorConfigError("target.credentialsSecretRef", f"a GCS credentials Secret needs {GCS_KEY}")
        return StorageCredentials(gcs_service_account=Sensitive(sa))
    account_key, connection = _read(root, "accountKey"), _read(root, "connectionString")
    if not account_key and not connection:
        raise ExecutorConfigError(
            "target.credentialsSecretRef", "an Azure credentials Secret needs accountKey or connectionString"
        )
    return StorageCredentials(
        azure_account_key=Sensitive(account_key) if account_key else None,
        azure_connection=parse_connection_string(connection) if connection else {},
    )
