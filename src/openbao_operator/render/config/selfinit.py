"""``initialize`` blocks from spec.selfInit: requests OpenBao runs once, when it initializes itself.

They form a file of their own (the Secret ``<name>-config-init``, never the config.hcl ConfigMap): request
data may be a secret, such as a userpass password or an OIDC client secret.

Why:
- One ``initialize "<name>"`` per request, with ``request "<name>-request"`` inside (as the reference), in
  spec order; OpenBao runs them in file order.
- Structured payloads per path prefix: ``sys/auth/`` (type, description, config), ``sys/mounts/`` (type,
  description, options), ``sys/policies/`` (policy), ``sys/audit/`` (type, description, options). Other
  paths take the raw ``data`` with its JSON types kept (numbers stay numbers; the reference turned them
  into strings); JSON nulls are dropped (HCL has no null).
- A policy (structured, or raw ``data.policy`` on sys/policies/) is multi-line text, which an HCL string
  cannot hold safely, so it is sent base64-encoded: the
  ``sys/policies/acl`` endpoint decodes base64 policies, and the stored policy is byte-identical to the
  spec (proven against bao 2.7.2 in tests/integration/test_config_boot.py).
- OpenBao refuses audit devices created through the API unless ``unsafe_allow_api_audit_creation`` is
  set (self-init then stops: "cannot enable audit device via API", and the cluster never initializes), so a
  ``sys/audit/`` request without it, structured or raw, is an error pointing at spec.audit instead.
- Raw ``data`` keeps its keys exactly: a key such as ``kubernetes.io/namespace`` or
  ``https://example.com/claim`` (JWT ``bound_claims``) is written quoted, and OpenBao stores it as written.
- The file is mounted into every pod, so every pod carries the requests: the controller must keep the
  StatefulSet at one replica until the cluster reports initialized (a second pod would race self-init
  with retry_join); ``initialize`` never runs again on an initialized cluster, which is also why
  these blocks are left out of the restart hash.
- A ``configure-autopilot`` request is appended (unless one of that name exists) with the reference
  operator's autopilot defaults (dead servers cleaned up after 5m, min_quorum max(3, replicas/2+1),
  server_stabilization_time 10s), overridden by spec.configuration.raft.autopilot: after self-init no
  token exists to set it later. (The reference's own self-init request says 24h, but its autopilot
  reconciler then applies 5m through the API; 5m is what its clusters run with.)
- ``spec.selfInit.oidc``: the operator's own JWT auth, policies and roles come first, in one
  ``initialize "operator-bootstrap"`` block (:mod:`.identity`), so the user's requests may use them.
"""

from __future__ import annotations

import base64
from typing import Any

from openbao_operator.api import OpenBaoCluster
from openbao_operator.api.configuration import AutopilotConfig
from openbao_operator.api.selfinit import SelfInitRequest, is_raw_policy
from openbao_operator.render.hcl import Attr, Block, Item, Value

from .audit import structured_options
from .context import Context
from .errors import ConfigRenderError
from .identity import operator_bootstrap
from .version import SELF_INIT, require

AUTOPILOT_REQUEST = "configure-autopilot"
AUTOPILOT_PATH = "sys/storage/raft/autopilot/configuration"


def _json_value(value: Any) -> Value | None:
    """JSON -> HCL value: nulls dropped (in objects and lists), everything else kept with its type."""
    if value is None:
        return None
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        out: dict[str, Value] = {}
        for k, x in value.items():
            v = _json_value(x)
            if v is not None:
                out[k] = v
        return out
    if isinstance(value, list):
        return [v for v in map(_json_value, value) if v is not None]
    raise TypeError(f"{type(value).__name__} is not JSON")  # pragma: no cover - the API holds JSON only


def _payload(req: SelfInitRequest, where: str, ctx: Context) -> Value | None:
    if req.path.startswith("sys/audit/"):
        conf = ctx.spec.configuration
        if conf is None or not conf.unsafe_allow_api_audit_creation:
            raise ConfigRenderError(
                f"{where}.{'auditDevice' if req.audit_device is not None else 'path'}",
                "declare this audit device in spec.audit instead: OpenBao refuses to create audit devices "
                'through the API ("cannot enable audit device via API") unless '
                "spec.configuration.unsafeAllowAPIAuditCreation is true, and self-initialization stops there",
            )
    if req.path.startswith("sys/audit/") and req.audit_device is not None:
        a = req.audit_device
        data: dict[str, Value] = {"type": a.type}
        if a.description:
            data["description"] = a.description
        options = structured_options(a.type, a.file_options, a.http_options, a.syslog_options, a.socket_options)
        if options:
            data["options"] = options
        return data
    if req.path.startswith("sys/auth/") and req.auth_method is not None:
        m = req.auth_method
        data = {"type": m.type}
        if m.description:
            data["description"] = m.description
        if m.config:
            data["config"] = dict(m.config)
        return data
    if req.path.startswith("sys/mounts/") and req.secret_engine is not None:
        e = req.secret_engine
        data = {"type": e.type}
        if e.description:
            data["description"] = e.description
        if e.options:
            data["options"] = dict(e.options)
        return data
    if req.path.startswith("sys/policies/") and req.policy is not None:
        return {"policy": _b64(req.policy.policy)}
    if is_raw_policy(req.path, req.data):
        return _json_value({**req.data, "policy": _b64(req.data["policy"])})
    return _json_value(req.data)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def _request_block(name: str, operation: str, path: str, data: Value | None, allow_failure: bool) -> Block:
    body: list[Item] = [Attr("operation", operation), Attr("path", path)]
    if data is not None and data != {}:
        body.append(Attr("data", data))
    if allow_failure:
        body.append(Attr("allow_failure", True))
    return Block("initialize", (name,), (Block("request", (f"{name}-request",), tuple(body)),))


def _autopilot(ctx: Context) -> Block:
    raft = ctx.spec.configuration.raft if ctx.spec.configuration is not None else None
    ap = (raft.autopilot if raft is not None else None) or AutopilotConfig()
    data: dict[str, Value] = {
        "cleanup_dead_servers": ap.cleanup_dead_servers,
        "dead_server_last_contact_threshold": ap.dead_server_last_contact_threshold,
        "min_quorum": ap.min_quorum if ap.min_quorum is not None else max(3, ctx.spec.replicas // 2 + 1),
        "server_stabilization_time": ap.server_stabilization_time or "10s",
    }
    for key, value in (
        ("last_contact_threshold", ap.last_contact_threshold),
        ("max_trailing_logs", ap.max_trailing_logs),
    ):
        if value is not None:
            data[key] = value
    return _request_block(AUTOPILOT_REQUEST, "update", AUTOPILOT_PATH, data, False)


def self_init_enabled(cluster: OpenBaoCluster) -> bool:
    """Are there ``initialize`` blocks (then always at least the autopilot request), hence a self-init file?"""
    si = cluster.spec.self_init
    return si is not None and si.enabled


def self_init(ctx: Context) -> list[Block]:
    si = ctx.spec.self_init
    if si is None or not si.enabled:
        return []
    require(ctx.version, SELF_INIT, "spec.selfInit.enabled", "self-initialization")
    blocks: list[Block] = []
    bootstrap = operator_bootstrap(ctx)
    if bootstrap is not None:
        blocks.append(bootstrap)
    for i, req in enumerate(si.requests or ()):
        where = f"spec.selfInit.requests[{i}]"
        blocks.append(_request_block(req.name, req.operation, req.path, _payload(req, where, ctx), req.allow_failure))
    if not any(r.name == AUTOPILOT_REQUEST for r in si.requests or ()):
        blocks.append(_autopilot(ctx))
    return blocks
