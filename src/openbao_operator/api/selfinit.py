"""`spec.selfInit`: OpenBao's declarative self-initialization (`initialize` blocks in config.hcl).

With self-init the server initializes itself and runs these requests once; no root token ever leaves
the cluster. Request data reaches config.hcl, so every string and key in it must be HCL-safe (checked here,
recursively, because a free-form JSON payload cannot be constrained by the CRD schema alone); a key only
needs to be quotable, since the writer quotes keys that are not plain identifiers.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from .base import ApiModel, Rule
from .configuration import FileAuditOptions, HttpAuditOptions, SocketAuditOptions, SyslogAuditOptions
from .types import EMPTY_IS_UNSET, HCL_SAFE_MESSAGE, HCL_SAFE_REGEX, HclStr, NonEmptyHclStr, Pattern, QuotableKey

_SAFE = re.compile(HCL_SAFE_REGEX)
POLICY_REGEX = r"^(?:[^$%\x00]|[$%]+[^$%{\x00])*[$%]*$"
"""Multi-line text without HCL interpolation or template sequences."""
_POLICY = re.compile(POLICY_REGEX)
POLICY_MESSAGE = "must not contain '${', '%{' or NUL characters"


def check_hcl_json(value: Any, path: str = "data") -> None:
    """Raise ValueError naming the nested key when a string or key in a JSON value is unsafe for HCL."""
    if isinstance(value, str):
        if not _SAFE.fullmatch(value):
            raise ValueError(f"{path}: {HCL_SAFE_MESSAGE}")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                raise ValueError(f"{path}: keys must be non-empty strings")
            if not _SAFE.fullmatch(key):
                raise ValueError(f"{path}: key {key!r} {HCL_SAFE_MESSAGE}")
            check_hcl_json(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_hcl_json(item, f"{path}[{index}]")


class OidcBootstrap(ApiModel):
    """Bootstrap JWT auth so the operator and its backup/upgrade/restore Jobs can call OpenBao with their
    ServiceAccount tokens (docs/backup-restore.md lists the roles and what their policies allow)."""

    enabled: bool = False
    """Add JWT auth (mount jwt-operator) with the cluster's ServiceAccount issuer and keys, and the operator's
    and the executors' policies and roles, to the self-init requests."""
    audience: Annotated[HclStr | None, EMPTY_IS_UNSET] = None
    """Audience the operator's token is bound to (default openbao-internal)."""
    issuer: Annotated[
        Annotated[str, Pattern(r"^https://[^\s\"\\]+$", "must be an https:// URL", 2048)] | None, EMPTY_IS_UNSET
    ] = None
    """OIDC issuer of the Kubernetes API server (discovered when unset)."""


class SelfInitAuditDevice(ApiModel):
    """An audit device enabled through sys/audit."""

    type: Literal["file", "syslog", "socket", "http"]
    """Device type."""
    description: HclStr | None = None
    """Description."""
    file_options: FileAuditOptions | None = None
    """Options for type file."""
    http_options: HttpAuditOptions | None = Field(default=None, alias="httpOptions")
    """Options for type http."""
    syslog_options: SyslogAuditOptions | None = None
    """Options for type syslog."""
    socket_options: SocketAuditOptions | None = None
    """Options for type socket."""


class SelfInitAuthMethod(ApiModel):
    """An auth method enabled through sys/auth."""

    type: NonEmptyHclStr
    """Auth method type, such as kubernetes or jwt."""
    description: HclStr | None = None
    """Description."""
    config: dict[QuotableKey, HclStr] | None = None
    """Mount configuration."""


class SelfInitSecretEngine(ApiModel):
    """A secrets engine mounted through sys/mounts."""

    type: NonEmptyHclStr
    """Engine type, such as kv."""
    description: HclStr | None = None
    """Description."""
    options: dict[QuotableKey, HclStr] | None = None
    """Engine options, such as version: "2"."""


class SelfInitPolicy(ApiModel):
    """An ACL policy written through sys/policies/acl."""

    policy: Annotated[
        str,
        StringConstraints(min_length=1),
        Pattern(POLICY_REGEX, POLICY_MESSAGE, 65536),
    ]
    """The policy document (HCL). It may span lines; it must not contain '${' or '%{'."""


def is_raw_policy(path: str, data: Any) -> bool:
    """A policy written through raw data (``{"policy": "..."}`` on sys/policies/): multi-line text, sent
    base64-encoded like the structured ``policy`` (the endpoint decodes it)."""
    return path.startswith("sys/policies/") and isinstance(data, dict) and isinstance(data.get("policy"), str)


class SelfInitRequest(ApiModel):
    """One API request run once at initialization. Paths under sys/audit/, sys/auth/, sys/mounts/ and
    sys/policies/ take their structured field or, as in the reference operator, raw data."""

    name: Annotated[
        str,
        Pattern(
            r"^[A-Za-z_][A-Za-z0-9_-]*$", "must start with a letter or '_' and contain letters, digits, '_' and '-'", 64
        ),
    ]
    """Unique request name."""
    operation: Literal["create", "read", "update", "delete", "list", "patch"]
    """HTTP-like operation."""
    path: Annotated[NonEmptyHclStr, Field(max_length=256)]
    """API path, such as sys/auth/kubernetes."""
    audit_device: SelfInitAuditDevice | None = None
    """Structured payload for sys/audit/ paths."""
    auth_method: SelfInitAuthMethod | None = None
    """Structured payload for sys/auth/ paths."""
    secret_engine: SelfInitSecretEngine | None = None
    """Structured payload for sys/mounts/ paths."""
    policy: SelfInitPolicy | None = None
    """Structured payload for sys/policies/ paths."""
    data: Any = None
    """Raw payload for other paths (never secrets: it is stored in the resource)."""
    allow_failure: bool = False
    """Do not stop initialization when this request fails."""

    @model_validator(mode="after")
    def _safe_data(self) -> SelfInitRequest:
        data = self.data
        if is_raw_policy(self.path, data):
            if not _POLICY.fullmatch(data["policy"]):
                raise ValueError(f"data.policy: {POLICY_MESSAGE}")
            data = {k: v for k, v in data.items() if k != "policy"}
        check_hcl_json(data)
        return self


class SelfInitConfig(ApiModel):
    """Self-initialization of a new cluster."""

    rules = (
        Rule(
            # oidc.enabled counts: the operator's own JWT identity (render/config/identity.py) is a way in, and
            # the operator holds no other.
            cel="!self.enabled || (has(self.requests) && size(self.requests) > 0) || "
            "(has(self.oidc) && self.oidc.enabled)",
            check=lambda m: not m.enabled or bool(m.requests) or (m.oidc is not None and m.oidc.enabled),
            message="at least one request, or oidc.enabled, is required when selfInit is enabled: OpenBao revokes "
            "the root token after self-initialization, so without a request that sets up a way to log in (or the "
            "operator's own JWT identity) nobody ever can",
            field="requests",
        ),
        Rule(
            cel="!has(self.requests) || self.requests.all(r, self.requests.exists_one(o, o.name == r.name))",
            check=lambda m: m.requests is None or len({r.name for r in m.requests}) == len(m.requests),
            message="request names must be unique",
            field="requests",
        ),
    )

    enabled: bool = False
    """Let OpenBao initialize itself; the root token is revoked and never stored."""
    oidc: OidcBootstrap | None = None
    """JWT auth bootstrap for the operator."""
    requests: Annotated[list[SelfInitRequest], Field(max_length=64)] | None = None
    """Requests run once, in order."""
