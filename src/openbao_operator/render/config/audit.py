"""Declarative ``audit "<type>" "<path>"`` devices.

Why: OpenBao decodes audit ``options`` into a string map and stops at startup on a bare boolean
("unknown type for string *ast.LiteralType", bao 2.7.2), so every option value is written as a string,
booleans as ``"true"``/``"false"``. The HTTP device's ``headers`` option is a JSON object of lists
(OB docs audit/http), written as one JSON string. Structured options win over raw ``options``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from openbao_operator.api.configuration import (
    AuditDevice,
    FileAuditOptions,
    HttpAuditOptions,
    SocketAuditOptions,
    SyslogAuditOptions,
)
from openbao_operator.render.hcl import Attr, Block, Item

from .context import Context

_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
"""``json.dumps(..., separators=(",", ":"), ensure_ascii=False)``, without building an encoder per call."""


def option_string(value: str | bool | int | float) -> str:
    """An audit option value as the string OpenBao's string map holds."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    return value


def structured_options(
    audit_type: str,
    file: FileAuditOptions | None,
    http: HttpAuditOptions | None,
    syslog: SyslogAuditOptions | None,
    socket: SocketAuditOptions | None,
) -> dict[str, str] | None:
    """The options of the structured block that matches ``audit_type``; a block of another type is not used
    (as in the reference operator; the API reports it as ignored)."""
    pairs: tuple[tuple[str, str | None], ...]
    if audit_type == "file" and file is not None:
        pairs = (("file_path", file.file_path), ("mode", file.mode))
    elif audit_type == "http" and http is not None:
        headers = None if http.headers is None else _COMPACT_JSON.encode(http.headers)
        pairs = (("uri", http.uri), ("headers", headers))
    elif audit_type == "syslog" and syslog is not None:
        pairs = (("facility", syslog.facility), ("tag", syslog.tag))
    elif audit_type == "socket" and socket is not None:
        pairs = (
            ("address", socket.address),
            ("socket_type", socket.socket_type),
            ("write_timeout", socket.write_timeout),
        )
    else:
        return None
    return {k: v for k, v in pairs if v is not None}


def device_options(device: AuditDevice) -> Mapping[str, str]:
    """The structured options block of the device's type, else the raw ``options``."""
    found = structured_options(
        device.type, device.file_options, device.http_options, device.syslog_options, device.socket_options
    )
    if found is not None:
        return found
    return {k: option_string(v) for k, v in (device.options or {}).items()}


def audit(ctx: Context) -> list[Block]:
    blocks: list[Block] = []
    for device in ctx.spec.audit or ():
        body: list[Item] = []
        if device.description:
            body.append(Attr("description", device.description))
        options = device_options(device)
        if options:
            body.append(Attr("options", dict(options)))
        blocks.append(Block("audit", (device.type, device.path), tuple(body)))
    return blocks
