"""The test oracle for the HCL writer: hclwrite's token formatter, transcribed as it works.

Why: ``render/hcl.py`` writes config.hcl straight to text, one pass, with hclwrite's layout worked out per
case (alignment runs, object-in-list indentation). This module writes the same model the way hclwrite
itself does, token by token: every line gets its bracket balance, then an indentation pass (formatIndent,
a stack of openers per level) and an alignment pass (formatCells) run over all lines. It was the
operator's writer before the direct one; the property tests in test_hcl.py compare the two on valid
models, on models with one mistake and on arbitrary ones (same bytes, or the same error with the same
path), so a layout or a check the direct writer gets wrong shows up as a difference here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from openbao_operator.render.hcl import (
    _BARE_KEY,
    _INT_MAX,
    _INT_MIN,
    _KEYWORDS,
    _PEM_TEXT,
    Attr,
    Block,
    HclValueError,
    Item,
    PemText,
    Value,
    _width,
    unsafe_reason,
)


def _check_string(s: str, path: str) -> None:
    reason = unsafe_reason(s)
    if reason is not None:
        raise HclValueError(path, reason)


def _quote(s: str, path: str) -> str:
    _check_string(s, path)
    # The only escapes: with controls, '${' and '%{' excluded, HCL v1 and HCL2 both read these
    # two back as the characters themselves, and every other character stands for itself.
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quote_pem(s: str, path: str) -> str:
    if not _PEM_TEXT.fullmatch(s):
        raise HclValueError(path, "not a PEM text (BEGIN line, base64 lines, END line)")
    return '"' + s.replace("\n", "\\n") + '"'


def _check_name(name: str, path: str) -> None:
    """Attribute names and block types: plain identifiers that no parser reads as a keyword."""
    if not isinstance(name, str) or not _BARE_KEY.fullmatch(name) or name in _KEYWORDS:
        raise HclValueError(path, f"{name!r} is not a valid attribute or block name")


def _key(k: str, path: str) -> str:
    """An object key: bare when it is a plain identifier, quoted (and checked) otherwise."""
    if not isinstance(k, str) or not k:
        raise HclValueError(path, f"object key {k!r} must be a non-empty string")
    if _BARE_KEY.fullmatch(k) and k not in _KEYWORDS:
        return k
    return _quote(k, path)


def _number(v: int | float, path: str) -> str:
    if isinstance(v, int):
        if not _INT_MIN <= v <= _INT_MAX:
            raise HclValueError(path, f"integer {v} does not fit in 64 bits")
        return str(v)
    if not math.isfinite(v):
        raise HclValueError(path, f"{v!r} has no HCL literal")
    # Plain decimal notation (hclwrite writes numbers with Go's 'f' format, never an exponent),
    # always with a fraction: without one HCL v1 lexes an integer and fails on 1e20 (int64).
    text = format(Decimal(repr(v)), "f")
    return text if "." in text else text + ".0"


@dataclass(slots=True)
class _Line:
    """One output line, split into hclwrite's cells: ``lead`` and the ``= value`` cell."""

    lead: str
    assign: str | None  # "= value" for a single-line attribute; None otherwise
    net: int  # net change in open brackets on this line, for the indentation pass
    indent: int = 0
    pad: int = 1  # spaces before the "=" cell, set by the alignment pass


class _Writer:
    """Collects lines like hclwrite's token stream, then formats them as hclwrite does."""

    def __init__(self) -> None:
        self.lines: list[_Line] = []
        self._parts: list[str] = []
        self._net = 0
        self._eq: tuple[int, int] | None = None  # (part index, net) where "= " started

    def text(self, s: str, net: int = 0) -> None:
        self._parts.append(s)
        self._net += net

    def equals(self) -> None:
        self._eq = (len(self._parts), self._net)
        self._parts.append("= ")

    def newline(self) -> None:
        parts, eq = self._parts, self._eq
        if eq is not None and self._net == eq[1]:
            # hclwrite makes "= ..." an alignable cell only when the brackets after the
            # equals sign balance on this line, i.e. when the value is single-line.
            line = _Line("".join(parts[: eq[0]]), "".join(parts[eq[0] :]), self._net)
        else:
            text = "".join(parts[: eq[0]]) + " " + "".join(parts[eq[0] :]) if eq else "".join(parts)
            line = _Line(text, None, self._net)
        self.lines.append(line)
        self._parts, self._net, self._eq = [], 0, None

    def body(self, items: Iterable[Item], path: str) -> None:
        seen_attrs: set[str] = set()
        seen_blocks: set[str] = set()
        for item in items:
            if isinstance(item, Attr):
                where = f"{path}.{item.name}" if path else item.name
                _check_name(item.name, where)
                # Duplicates would be merged or overwritten differently by each parser (and
                # cannot be expressed in JSON), so a body names each attribute once.
                if item.name in seen_attrs or item.name in seen_blocks:
                    raise HclValueError(where, "duplicate name in this body")
                seen_attrs.add(item.name)
                self.text(item.name)
                self.equals()
                self.value(item.value, where)
                self.newline()
            elif isinstance(item, Block):
                if item.type in seen_attrs:
                    where = f"{path}.{item.type}" if path else item.type
                    raise HclValueError(where, "duplicate name in this body (attribute and block)")
                seen_blocks.add(item.type)
                self.block(item, path)
            else:
                raise HclValueError(path, f"{type(item).__name__} is not an Attr or a Block")

    def block(self, b: Block, path: str) -> None:
        where = f"{path}.{b.type}" if path else b.type
        _check_name(b.type, where)
        header = [b.type]
        for label in b.labels:
            if not isinstance(label, str) or not label:
                raise HclValueError(where, f"label {label!r} must be a non-empty string")
            # Labels are always quoted (HCL v1 would accept bare ones, HCL2 tools would not).
            header.append(_quote(label, where))
            where += " " + header[-1]
        self.text(" ".join(header) + " {", 1)
        self.newline()
        self.body(b.body, where)
        self.text("}", -1)
        self.newline()

    def value(self, v: Value, path: str) -> None:
        if isinstance(v, bool):
            self.text("true" if v else "false")
        elif isinstance(v, int | float):
            self.text(_number(v, path))
        elif isinstance(v, PemText):
            self.text(_quote_pem(v, path))
        elif isinstance(v, str):
            self.text(_quote(v, path))
        elif isinstance(v, Mapping):
            if not v:
                self.text("{}")  # hclwrite writes an empty object inline
                return
            self.text("{", 1)
            self.newline()
            for k, x in v.items():
                key = _key(k, path)
                self.text(key)
                self.equals()
                self.value(x, f"{path}.{k}" if key == k else f"{path}[{key}]")
                self.newline()
            self.text("}", -1)
        elif isinstance(v, Sequence) and not isinstance(v, bytes | bytearray):
            self.text("[", 1)
            for i, x in enumerate(v):
                if i:
                    self.text(", ")
                self.value(x, f"{path}[{i}]")
            self.text("]", -1)
        else:
            raise HclValueError(path, f"{type(v).__name__} has no HCL literal")

    def render(self) -> str:
        _format_indent(self.lines)
        _format_cells(self.lines)
        out = []
        for line in self.lines:
            text = " " * line.indent + line.lead
            if line.assign is not None:
                text += " " * line.pad + line.assign
            out.append(text)
        return "\n".join(out) + "\n" if out else ""


def _format_indent(lines: list[_Line]) -> None:
    """hclwrite's formatIndent: indent by bracket nesting, one level per line that opens any.

    Mirrors the Go algorithm (a stack of "openers per level") so that odd shapes such as a
    list of objects come out exactly as ``terraform fmt`` writes them (``  }, {``).
    """
    indents: list[int] = []
    for line in lines:
        if line.net > 0:
            line.indent = 2 * len(indents)
            indents.append(line.net)
            continue
        closed = -line.net
        while closed > 0 and indents:
            if closed > indents[-1]:
                closed -= indents.pop()
            elif closed < indents[-1]:
                indents[-1] -= closed
                closed = 0
            else:
                indents.pop()
                closed = 0
        line.indent = 2 * len(indents)


def _format_cells(lines: list[_Line]) -> None:
    """hclwrite's formatCells: align "=" across each run of consecutive single-line attributes.

    Any other line (block header, closing brace, a multi-line value's first line) ends the run.
    """
    run: list[_Line] = []

    def close() -> None:
        widest = max(line.indent + _width(line.lead) for line in run)
        for line in run:
            line.pad = widest - line.indent - _width(line.lead) + 1
        run.clear()

    for line in lines:
        if line.assign is None:
            if run:
                close()
        else:
            run.append(line)
    if run:
        close()


def emit_tokens(items: Iterable[Item]) -> str:
    """The model written by the token writer: what :func:`openbao_operator.render.hcl.emit` must write."""
    writer = _Writer()
    writer.body(items, "")
    return writer.render()
