"""A small HCL writer for OpenBao's ``config.hcl``, and the string rule that keeps it safe.

Why this exists: OpenBao reads its configuration with HCL *v1* (``hashicorp/hcl``), while the
tools around HCL today (hclwrite, python-hcl2) speak HCL2. The two disagree on strings: HCL2
writes a literal ``${`` as ``$${`` and HCL v1 never undoes that, so a value that goes through an
HCL2 writer can reach OpenBao changed. python-hcl2's own dumper also writes strings as bare
expressions. So we write the file ourselves from a frozen intermediate model (``Block`` /
``Attr``), with the byte layout of hclwrite's formatter (reference-operator.md §2.6), and we
never escape anything except ``\\"`` and ``\\\\``: a string that cannot be written that way
is rejected with :class:`HclValueError`, never rewritten into something else.

The same rule is exported as :func:`unsafe_reason` and :data:`SAFE_STRING_PATTERN`, so the
API models can refuse such a value at admission instead of at render time.

Pure code: no I/O, no clock, no randomness; the output depends only on the items and their
order, which the caller chooses.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import TypeAlias

__all__ = [
    "SAFE_STRING_PATTERN",
    "Attr",
    "Block",
    "HclValueError",
    "Item",
    "Value",
    "emit",
    "emit_json",
    "unsafe_reason",
]

# A literal: str, bool, int (written bare), float, a list of literals, or an object
# (str -> literal, written multi-line). bool is tested before int everywhere, because
# bool is a subclass of int.
Value: TypeAlias = str | bool | int | float | Sequence["Value"] | Mapping[str, "Value"]

# C0 controls (incl. tab and newline), DEL, and C1 controls. Real OpenBao (bao 2.7.2) reads every
# other code point back unchanged, including U+2028, U+FEFF, bidi controls, noncharacters and
# astral characters, and including backslashes written as "\\" (tests/unit/render/test_hcl.py
# boots bao to show it); controls are out because HCL parsers disagree on how to escape them.
_CONTROLS = "\\x00-\\x1f\\x7f-\\x9f"

SAFE_STRING_PATTERN = f"^(?:[^{_CONTROLS}$%]|[$%]+[^{_CONTROLS}$%{{])*[$%]*$"
"""The safe-string rule as a regular expression, for a JSON-schema/CRD ``pattern``.

It says: no control character (C0, DEL, C1), and no ``$`` or ``%`` directly followed by ``{``.
RE2 (Go, the API server) has no lookahead, so the ``${`` / ``%{`` ban is spelled out: every
maximal run of ``$``/``%`` is followed by a character other than ``{``, or ends the string.
Only ``\\xHH`` escapes are used, which RE2, ECMA-262 and Python all read the same way.
It matches exactly the strings for which :func:`unsafe_reason` returns ``None``, except lone
surrogates, which only Python strings can hold (nothing decoded from the API server's JSON can)
and which :func:`unsafe_reason` also rejects.
"""

_BAD_CHAR = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# Identifiers that parsers read as something else: HCL v1 lexes true/false as BOOL and refuses them
# as keys; HCL2 reads null as a literal and `{ for ...` / `if` / `in` as expression syntax.
_KEYWORDS = frozenset({"true", "false", "null", "for", "if", "in"})
# HCL v1 decodes numbers with strconv.ParseInt(..., 0) into a Go int (64-bit).
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


class HclValueError(ValueError):
    """A model that cannot be written so that OpenBao reads back exactly what it says.

    ``path`` names the offending item, e.g. ``audit "file" "a".options.headers[0]``;
    ``reason`` says what is wrong with it.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


def unsafe_reason(s: str) -> str | None:
    """Why ``s`` cannot be written as an HCL string for OpenBao, or ``None`` if it can.

    The rule, shared with :data:`SAFE_STRING_PATTERN`: no control characters (U+0000-U+001F,
    U+007F-U+009F), no ``${`` (HCL v1 starts an interpolation there and never undoes HCL2's
    ``$${`` escape), no ``%{`` (an HCL2 template directive; HCL v1 would read it literally, but
    every HCL2 tool would not), and no lone surrogates (not encodable as UTF-8).
    """
    bad = _BAD_CHAR.search(s)  # one C-speed scan instead of a Python loop (render time, issue 4)
    if bad is not None:
        i, o = bad.start(), ord(bad.group())
        if o < 0xD800:
            return f"control character U+{o:04X} at index {i} is not allowed"
        return f"lone surrogate U+{o:04X} at index {i} is not allowed"
    if "${" in s:
        return "'${' is not allowed (HCL interpolation)"
    if "%{" in s:
        return "'%{' is not allowed (HCL2 template directive)"
    return None


def _freeze(v: Value) -> Value:
    """Copy lists into tuples and mappings into read-only mappings, so the model is immutable."""
    if isinstance(v, str | bytes | bytearray):
        return v  # bytes are rejected at emit time, with a path
    if isinstance(v, Mapping):
        return MappingProxyType({k: _freeze(x) for k, x in v.items()})
    if isinstance(v, Sequence):
        return tuple(_freeze(x) for x in v)
    return v


@dataclass(frozen=True, slots=True)
class Attr:
    """``name = value``. Lists and mappings are copied into immutable containers."""

    name: str
    value: Value

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _freeze(self.value))


@dataclass(frozen=True, slots=True)
class Block:
    """``type "label" ... { body }``. The body is written in the order given."""

    type: str
    labels: tuple[str, ...] = ()
    body: tuple[Attr | Block, ...] = field(default=())

    def __post_init__(self) -> None:
        # Accept any iterable (lists included) but keep a tuple, so the model stays frozen.
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "body", tuple(self.body))


Item: TypeAlias = Attr | Block


def _check_string(s: str, path: str) -> None:
    reason = unsafe_reason(s)
    if reason is not None:
        raise HclValueError(path, reason)


def _quote(s: str, path: str) -> str:
    _check_string(s, path)
    # The only escapes: with controls, '${' and '%{' excluded, HCL v1 and HCL2 both read these
    # two back as the characters themselves, and every other character stands for itself.
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


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


def _width(text: str) -> int:
    """Columns of ``text`` as hclwrite counts them (grapheme clusters).

    Attribute names are ASCII; only quoted object keys can hold other characters. This
    approximates UAX #29 by not counting combining marks, ZWJ, variation selectors or the
    character after a ZWJ; only alignment whitespace can differ for exotic keys.
    """
    if text.isascii():
        return len(text)
    n = 0
    joined = False
    for ch in text:
        if joined:
            joined = False
            continue
        if ch == "\u200d":
            joined = True
            continue
        if unicodedata.category(ch) in ("Mn", "Me", "Mc") or "\ufe00" <= ch <= "\ufe0f":
            continue
        n += 1
    return n


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


def emit(items: Iterable[Item]) -> str:
    """Write ``items`` as HCL with hclwrite's canonical layout.

    Two-space indent per nesting level; ``key = value`` with ``=`` aligned over each run of
    consecutive single-line attributes; labels always quoted; lists inline; non-empty objects
    one key per line; an empty block as ``name "label" {`` + ``}``; no blank lines anywhere
    (as the reference operator's hclwrite output); exactly one trailing newline ("" for no
    items). Raises :class:`HclValueError` for anything OpenBao would not read back verbatim.
    """
    writer = _Writer()
    writer.body(items, "")
    return writer.render()


def _json_value(v: Value) -> object:
    if isinstance(v, Mapping):
        return {k: _json_value(x) for k, x in v.items()}
    if isinstance(v, Sequence) and not isinstance(v, str):
        return [_json_value(x) for x in v]
    return v


def _json_body(items: Iterable[Item]) -> dict[str, object]:
    out: dict[str, object] = {}
    blocks: dict[str, list[object]] = {}
    for item in items:
        if isinstance(item, Attr):
            out[item.name] = _json_value(item.value)
            continue
        node: object = _json_body(item.body)
        for label in reversed(item.labels):
            node = {label: node}
        if item.type not in blocks:
            blocks[item.type] = []
            out[item.type] = blocks[item.type]  # reserves the position of the first block
        blocks[item.type].append(node)
    for name, group in blocks.items():
        # HCL v1 reads a single nested object and a list of them alike; a lone block is written
        # the way OpenBao's docs write storage ({"raft": {...}}), repeated ones as a list.
        out[name] = group[0] if len(group) == 1 else group
    return out


def emit_json(items: Iterable[Item]) -> str:
    """The same model as an OpenBao JSON config (HCL v1's JSON form), the zero-ambiguity fallback.

    Blocks nest by label (``listener "tcp" {...}`` -> ``{"listener": {"tcp": {...}}}``);
    repeated block types become a list. Applies exactly the checks of :func:`emit`.
    """
    items = tuple(items)
    emit(items)  # the same validation, so both forms accept and reject the same models
    return json.dumps(_json_body(items), indent=2, ensure_ascii=False) + "\n"
