"""Declarative ``plugin "<type>" "<name>"`` blocks from spec.plugins (OpenBao >= 2.5).

Why: ``image`` wins over ``command`` (as in the reference); ``args``/``env`` only when non-empty. The
plugin directory they land in is the always-mounted ``plugin_directory``. A plugin that has no effect is
not written: below OpenBao 2.5 (no declarative plugins), or one OpenBao would skip with a warning
(:func:`openbao_operator.api.configuration.plugin_problem`). The API reports those in FieldsIgnored.
"""

from __future__ import annotations

from openbao_operator.api.configuration import plugin_problem
from openbao_operator.render.hcl import Attr, Block, Item

from .context import Context
from .version import DECLARATIVE_PLUGINS


def plugins(ctx: Context) -> list[Block]:
    if ctx.version < DECLARATIVE_PLUGINS:
        return []
    blocks: list[Block] = []
    for p in ctx.spec.plugins or ():
        if plugin_problem(p) is not None:
            continue
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
