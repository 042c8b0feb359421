"""`spec.selfInit`: OpenBao's declarative self-initialization (`initialize` blocks in config.hcl).

With self-init the server initializes itself and runs these requests once; no root token ever leaves
the cluster. Request data reaches config.hcl, so every string in it must be HCL-safe (checked here,
recursively, because a free-form JSON payload cannot be constrained by the CRD schema alone).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from .base import ApiModel, Rule
from .configuration import FileAuditOptions, HttpAuditOptions, SocketAuditOptions, SyslogAuditOptions
from .types import HCL_SAFE_MESSAGE, HCL_SAFE_REGEX, HclStr, NonEmptyHclStr, Pattern

_SAFE = re.compile(HCL_SAFE_REGEX)
POLICY_REGEX = r"^(?:[^$%\x00]|[$%]+[^$%{\x00])*[$%]*$"
"""Multi-line text without HCL interpolation or template sequences."""

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def check_hcl_json(value: Any, path: str = "") -> None:
    """Raise ValueError naming the nested key when a string or key in a JSON value is unsafe for HCL."""
    if isinstance(value, str):
        if not _SAFE.fullmatch(value):
            raise ValueError(f"{path or 'value'}: {HCL_SAFE_MESSAGE}")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not _KEY.fullmatch(key):
                raise ValueError(f"{path}{'.' if path else ''}{key}: keys must be letters, digits, '_', '.' and '-'")
            check_hcl_json(item, f"{path}{'.' if path else ''}{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_hcl_json(item, f"{path}[{index}]")


class OidcBootstrap(ApiModel):
    """Bootstrap JWT auth so the operator can call OpenBao with its ServiceAccount token."""

    enabled: bool = False
    """Add the operator's JWT auth method, policy and role to the self-init requests."""
    audience: HclStr | None = None
    """Audience the operator's token is bound to (default openbao-internal)."""
    issuer: Annotated[str, Pattern(r"^https://[^\s\"\\]+$", "must be an https:// URL", 2048)] | None = None
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
    config: dict[str, HclStr] | None = None
    """Mount configuration."""


class SelfInitSecretEngine(ApiModel):
    """A secrets engine mounted through sys/mounts."""

    type: NonEmptyHclStr
    """Engine type, such as kv."""
    description: HclStr | None = None
    """Description."""
    options: dict[str, HclStr] | None = None
    """Engine options, such as version: "2"."""


class SelfInitPolicy(ApiModel):
    """An ACL policy written through sys/policies/acl."""

    policy: Annotated[
        str,
        StringConstraints(min_length=1),
        Pattern(POLICY_REGEX, "must not contain '${', '%{' or NUL characters", 65536),
    ]
    """The policy document (HCL). It may span lines; it must not contain '${' or '%{'."""


_STRUCTURED = (
    ("sys/audit/", "auditDevice", "audit_device"),
    ("sys/auth/", "authMethod", "auth_method"),
    ("sys/mounts/", "secretEngine", "secret_engine"),
    ("sys/policies/", "policy", "policy"),
)


def _structured_rule(prefix: str, json_name: str, attr: str) -> Rule:
    return Rule(
        cel=f"!self.path.startsWith('{prefix}') || has(self.{json_name})",
        check=lambda m: not m.path.startswith(prefix) or getattr(m, attr) is not None,
        message=f"required for paths under {prefix} (structured field, not raw data)",
        field=json_name,
    )


class SelfInitRequest(ApiModel):
    """One API request run once at initialization."""

    rules = tuple(_structured_rule(p, j, a) for p, j, a in _STRUCTURED)

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

    @field_validator("data")
    @classmethod
    def _safe_data(cls, value: Any) -> Any:
        check_hcl_json(value)
        return value


class SelfInitConfig(ApiModel):
    """Self-initialization of a new cluster."""

    rules = (
        Rule(
            cel="!self.enabled || (has(self.requests) && size(self.requests) > 0) || "
            "(has(self.oidc) && self.oidc.enabled)",
            check=lambda m: not m.enabled or bool(m.requests) or (m.oidc is not None and m.oidc.enabled),
            message="at least one request (or oidc.enabled) is required when selfInit is enabled",
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
