"""Declarative ``plugin "<type>" "<name>"`` blocks from spec.plugins (OpenBao >= 2.5).

Why: ``image`` wins over ``command`` (as in the reference); ``args``/``env`` only when non-empty. The
plugin directory they land in is the always-mounted ``plugin_directory``.
"""

from __future__ import annotations

from openbao_operator.render.hcl import Attr, Block, Item

from .context import Context
from .version import DECLARATIVE_PLUGINS, require


def plugins(ctx: Context) -> list[Block]:
    blocks: list[Block] = []
    for i, p in enumerate(ctx.spec.plugins or ()):
        require(ctx.version, DECLARATIVE_PLUGINS, f"spec.plugins[{i}]", "a declarative plugin")
        body: list[Item] = []
        if p.image is not None:
            body.append(Attr("image", p.image))
        elif p.command is not None:
            body.append(Attr("command", p.command))
        for key, value in (("version", p.version), ("binary_name", p.binary_name), ("sha256sum", p.sha256sum)):
            if value is not None:
                body.append(Attr(key, value))
        if p.args:
            body.append(Attr("args", list(p.args)))
        if p.env:
            body.append(Attr("env", list(p.env)))
        blocks.append(Block("plugin", (p.type, p.name), tuple(body)))
    return blocks
