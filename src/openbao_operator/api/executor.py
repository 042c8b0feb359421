"""What an executor Job is told: the contract between whoever renders the Job and `openbao-operator backup`
or `openbao-operator restore` running inside it.

Why in `api`: the Job is rendered by one layer and read by another (the executor), and both depend on the
API models; keeping the contract here gives it one home. It carries no secret: credentials, tokens and the
ServiceAccount JWT reach the executor as files (mounted Secrets and a projected token) whose paths are named
here, and are read at the moment they are needed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import ApiModel, Rule
from .operations import BackupRetention, BackupTarget

CONFIG_ENV = "OPENBAO_EXECUTOR_CONFIG"
"""Environment variable holding the JSON form of :class:`ExecutorConfig` (no secrets in it)."""

REPORT_FILE_ENV = "OPENBAO_EXECUTOR_REPORT_FILE"
"""A file the report line is also written to: the Job names the container's termination-message file, so the
operator reads the outcome from the pod's status without reading logs."""

DEFAULT_JWT_MOUNT = "jwt-operator"
"""Where the operator's JWT auth method is mounted by selfInit.oidc (the reference operator's path)."""

DEFAULT_JWT_FILE = "/var/run/secrets/openbao.org/token"
"""Where the executor Job's projected ServiceAccount token (audience: the JWT role's) is mounted."""


class ExecutorOpenBao(ApiModel):
    """How to reach the cluster."""

    address: Annotated[str, Field(pattern=r"^https?://[^\s]+$")]
    """Base URL of any node or Service of the cluster; the executor finds the active node from there."""
    ca_file: str | None = None
    """PEM file to verify the nodes' certificates with (the cluster's CA); unset: the system roots."""
    server_name: str | None = None
    """Name to verify the certificate against when it differs from the address's host."""


class ExecutorAuth(ApiModel):
    """How the executor logs in to OpenBao. The JWT or token is read from its file when it is used."""

    rules = (
        Rule(
            cel="self.method != 'jwt' || has(self.role)",
            check=lambda m: m.method != "jwt" or bool(m.role),
            message="a JWT login needs the role",
            field="role",
        ),
        Rule(
            cel="self.method != 'token' || has(self.tokenFile)",
            check=lambda m: m.method != "token" or bool(m.token_file),
            message="a token login needs the token file",
            field="tokenFile",
        ),
    )

    method: Literal["jwt", "token"] = "jwt"
    """jwt: `auth/<mount>/login` with the projected ServiceAccount token; token: a token from a Secret."""
    role: str | None = None
    """JWT auth role (spec.backup.jwtAuthRole, or the selfInit.oidc default)."""
    mount: str = DEFAULT_JWT_MOUNT
    """Mount path of the JWT auth method."""
    jwt_file: str = DEFAULT_JWT_FILE
    """The projected ServiceAccount token."""
    token_file: str | None = None
    """File with an OpenBao token (spec.backup.tokenSecretRef mounted)."""


class ExecutorConfig(ApiModel):
    """Everything an executor needs except secrets."""

    cluster: Annotated[str, Field(min_length=1)]
    """Name of the OpenBaoCluster (part of the object key and of the metadata)."""
    namespace: Annotated[str, Field(min_length=1)]
    """Its namespace."""
    openbao: ExecutorOpenBao
    """The cluster's API."""
    auth: ExecutorAuth
    """How to log in."""
    target: BackupTarget
    """Object storage."""
    credentials_dir: str | None = None
    """Directory of the mounted credentials Secret (target.credentialsSecretRef): files accessKeyId,
    secretAccessKey, sessionToken (S3); credentials.json (GCS); accountKey or connectionString (Azure)."""
    web_identity_token_file: str | None = None
    """Projected token for S3 web identity (target.roleArn)."""
    retention: BackupRetention | None = None
    """Retention applied after a successful backup."""
