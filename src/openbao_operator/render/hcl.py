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
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import TypeAlias

from openbao_operator.api.types import CONTROL_CHARS, no_interpolation_pattern

__all__ = [
    "SAFE_STRING_PATTERN",
    "Attr",
    "Block",
    "HclValueError",
    "Item",
    "PemText",
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
SAFE_STRING_PATTERN = no_interpolation_pattern(forbidden=CONTROL_CHARS)
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


# Exact types that _freeze returns unchanged: checked first, since nearly every value is one of them.
_SCALAR_TYPES = frozenset({str, bool, int, float})
_set = object.__setattr__  # how the frozen model classes set their fields in __init__


def _freeze(v: Value) -> Value:
    """Copy lists into tuples and mappings into read-only mappings, so the model is immutable."""
    t = type(v)
    if t in _SCALAR_TYPES:
        return v
    if t is list or t is tuple:
        for x in v:  # type: ignore[union-attr]
            if type(x) not in _SCALAR_TYPES:
                return tuple(_freeze(x) for x in v)  # type: ignore[union-attr]
        return tuple(v)  # type: ignore[arg-type]  # all scalars: nothing to freeze inside
    if t is dict:
        return MappingProxyType({k: x if type(x) in _SCALAR_TYPES else _freeze(x) for k, x in v.items()})  # type: ignore[union-attr]
    if isinstance(v, str | bytes | bytearray):
        return v  # bytes are rejected at emit time, with a path
    if isinstance(v, Mapping):
        return MappingProxyType({k: _freeze(x) for k, x in v.items()})
    if isinstance(v, Sequence):
        return tuple(_freeze(x) for x in v)
    return v


@dataclass(frozen=True, slots=True, init=False)
class Attr:
    """``name = value``. Lists and mappings are copied into immutable containers."""

    name: str
    value: Value

    def __init__(self, name: str, value: Value) -> None:
        # Hand-written (instead of a generated __init__ plus __post_init__): one of these is built for
        # every line of config.hcl on every render, so it is kept to two stores.
        _set(self, "name", name)
        _set(self, "value", value if type(value) in _SCALAR_TYPES else _freeze(value))


@dataclass(frozen=True, slots=True, init=False)
class Block:
    """``type "label" ... { body }``. The body is written in the order given."""

    type: str
    labels: tuple[str, ...]
    body: tuple[Attr | Block, ...]

    def __init__(self, type: str, labels: tuple[str, ...] = (), body: tuple[Attr | Block, ...] = ()) -> None:
        # Accept any iterable (lists included) but keep a tuple, so the model stays frozen.
        _set(self, "type", type)
        _set(self, "labels", tuple(labels))
        _set(self, "body", tuple(body))


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


class PemText(str):
    """A PEM text (public keys, certificates): the one multi-line string the writer accepts.

    Why: OpenBao takes PEM keys inline in some API payloads (JWT auth's ``jwt_validation_pubkeys``), and PEM
    needs its line breaks. The text must be nothing but PEM blocks (a BEGIN line, base64 lines, an END
    line), so the only control character in it is the newline, written as ``\n``: HCL v1 (OpenBao) and
    HCL2 both read that escape back as a newline, and no ``$``, ``%``, quote or backslash can occur.
    """

    __slots__ = ()


_PEM_TEXT = re.compile(
    r"(?:-----BEGIN [A-Z0-9 ]{1,64}-----\n(?:[A-Za-z0-9+/=]{1,76}\n)+-----END [A-Z0-9 ]{1,64}-----\n?)+"
)


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


# --- the direct writer --------------------------------------------------------------------
#
# emit() first tries to write the model straight to text. A body is a sequence of runs of single-line
# attributes (aligned once per run from the widths of their names, hclwrite's formatCells), nested blocks
# and multi-line objects, each one indent level deeper: exactly what _Writer produces for them. The direct
# writer takes only the exact types the model is made of (Attr, Block, str, bool, int, float, tuple, list,
# dict, MappingProxyType) and only what passes every check; on anything else (a failed check, a subclass,
# a non-empty object inside a list, whose lines hclwrite indents by bracket counting) it gives up and
# emit() writes the whole model with _Writer. So every error, with its path, still comes from _Writer, and
# every accepted model comes out as _Writer writes it (a property test compares the two).


class _GiveUpError(Exception):
    """The direct writer leaves this model to :class:`_Writer`."""


# Memos for the direct writer: a cluster renders the same names, constants and spec strings on every
# reconcile, so each is checked (and quoted) once. Pure (an entry depends only on its key, an exact str)
# and bounded (emptied when full). Plain dicts because a lookup is several times cheaper than an
# lru_cache call, and these are looked up for nearly every line.
_MEMO_MAX = 4096
_QUOTED: dict[str, str] = {}  # safe string -> its quoted form
_BARE_NAMES: set[str] = set()  # strings that pass _check_name (valid names; also written bare as keys)


def _quote_safe(s: str) -> str | None:
    """``_quote(s)`` for an exact str, or ``None`` where _quote would raise."""
    quoted = _QUOTED.get(s)
    if quoted is None:
        if unsafe_reason(s) is not None:
            return None
        quoted = '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'  # as _quote
        if len(_QUOTED) >= _MEMO_MAX:
            _QUOTED.clear()
        _QUOTED[s] = quoted
    return quoted


def _is_bare(name: str) -> bool:
    """Whether an exact str passes :func:`_check_name`."""
    if name in _BARE_NAMES:
        return True
    if _BARE_KEY.fullmatch(name) is None or name in _KEYWORDS:
        return False
    if len(_BARE_NAMES) >= _MEMO_MAX:
        _BARE_NAMES.clear()
    _BARE_NAMES.add(name)
    return True


_ALIGN = tuple(" " * n + "= " for n in range(1, 129))
"""``_ALIGN[n]``: the gap and ``= `` after a name ``n`` columns narrower than the widest of its run."""
_MAPPINGS = (dict, MappingProxyType)
_LISTS = (tuple, list)


def _direct_value(v: object) -> str | None:
    """A single-line value as text, ``None`` for a non-empty object; :class:`_GiveUpError` for anything else."""
    t = type(v)
    if t is str:
        quoted = _quote_safe(v)  # type: ignore[arg-type]
        if quoted is None:
            raise _GiveUpError
        return quoted
    if t is bool:
        return "true" if v else "false"
    if t is int:
        if not _INT_MIN <= v <= _INT_MAX:  # type: ignore[operator]
            raise _GiveUpError
        return str(v)
    if t in _LISTS:
        parts = []
        for x in v:  # type: ignore[attr-defined]
            part = _direct_value(x)
            if part is None:  # a non-empty object in a list
                raise _GiveUpError
            parts.append(part)
        return "[" + ", ".join(parts) + "]"
    if t in _MAPPINGS:
        return None if v else "{}"
    if t is float:
        text = repr(v)
        if "e" in text or "n" in text:  # an exponent, inf or nan: as _number writes it, or gives up
            return _number(v, "")  # type: ignore[arg-type]  # HclValueError for nan/inf: emit() gives up
        return text  # plain decimal digits with a fraction: what _number writes (via Decimal) too
    raise _GiveUpError


def _direct_run(leads: list[str], values: list[str], indent: str, out: list[str], ascii: bool = True) -> None:
    """A run of single-line ``lead = value`` lines with "=" aligned (hclwrite's formatCells); empties the run.

    ``ascii``: every lead is ASCII, so its width is its length (always true for names, which are bare).
    """
    widths = [len(lead) for lead in leads] if ascii else [_width(lead) for lead in leads]
    widest = max(widths)
    rows = zip(leads, values, widths, strict=True)
    if widest < len(_ALIGN):
        out += [f"{indent}{lead}{_ALIGN[widest - w]}{v}" for lead, v, w in rows]
    else:
        out += [f"{indent}{lead}{' ' * (widest - w + 1)}= {v}" for lead, v, w in rows]
    leads.clear()
    values.clear()


def _direct_object(v: Mapping[str, Value], indent: str, out: list[str]) -> None:
    leads: list[str] = []
    values: list[str] = []
    for k, x in v.items():
        if type(k) is not str or not k:
            raise _GiveUpError
        if k in _BARE_NAMES or _is_bare(k):
            key = k
        else:
            quoted = _quote_safe(k)
            if quoted is None:
                raise _GiveUpError
            key = quoted
        text = _direct_value(x)
        if text is not None:
            leads.append(key)
            values.append(text)
            continue
        if leads:
            _direct_run(leads, values, indent, out, False)
        out.append(f"{indent}{key} = {{")
        _direct_object(x, indent + "  ", out)  # type: ignore[arg-type]
        out.append(f"{indent}}}")
    if leads:
        _direct_run(leads, values, indent, out, False)


def _direct_names(names: list[str], values: list[str], widest: int, indent: str, out: list[str]) -> None:
    """:func:`_direct_run` for a body's attributes: names are ASCII, the widest is known; empties the run."""
    if widest < len(_ALIGN):
        out += [f"{indent}{name}{_ALIGN[widest - len(name)]}{v}" for name, v in zip(names, values, strict=True)]
    else:
        out += [f"{indent}{name}{' ' * (widest - len(name) + 1)}= {v}" for name, v in zip(names, values, strict=True)]
    names.clear()
    values.clear()


def _direct_body(items: Iterable[Item], indent: str, out: list[str]) -> None:
    seen: dict[str, bool] = {}  # name -> whether an attribute has it (else only blocks)
    names: list[str] = []  # the current run of single-line attributes
    values: list[str] = []
    widest = 0
    for item in items:
        if type(item) is Attr:
            name = item.name
            if type(name) is not str or name in seen or not (name in _BARE_NAMES or _is_bare(name)):
                raise _GiveUpError  # not a name, or a duplicate (of an attribute or a block)
            seen[name] = True
            v = item.value
            if type(v) is str:  # the common cases inline; the rest as in _direct_value
                text = _QUOTED.get(v) or _quote_safe(v)
                if text is None:
                    raise _GiveUpError
            elif type(v) is bool:
                text = "true" if v else "false"
            else:
                text = _direct_value(v)
            if text is not None:
                names.append(name)
                values.append(text)
                if len(name) > widest:  # a valid name is ASCII: its width is its length
                    widest = len(name)
                continue
            if names:
                _direct_names(names, values, widest, indent, out)
                widest = 0
            out.append(f"{indent}{name} = {{")
            _direct_object(v, indent + "  ", out)  # type: ignore[arg-type]
            out.append(f"{indent}}}")
        elif type(item) is Block:
            kind = item.type
            if type(kind) is not str or seen.get(kind) or not _is_bare(kind):
                raise _GiveUpError  # not a name, or the name of an attribute in this body
            seen[kind] = False
            if names:
                _direct_names(names, values, widest, indent, out)
                widest = 0
            header = kind
            for label in item.labels:
                quoted = _quote_safe(label) if type(label) is str and label else None
                if quoted is None:
                    raise _GiveUpError
                header += " " + quoted
            out.append(f"{indent}{header} {{")
            _direct_body(item.body, indent + "  ", out)
            out.append(f"{indent}}}")
        else:
            raise _GiveUpError
    if names:
        _direct_names(names, values, widest, indent, out)


def _emit_tokens(items: Iterable[Item]) -> str:
    """:func:`emit` through the token writer only (the reference the direct writer is tested against)."""
    writer = _Writer()
    writer.body(items, "")
    return writer.render()


def emit(items: Iterable[Item]) -> str:
    """Write ``items`` as HCL with hclwrite's canonical layout.

    Two-space indent per nesting level; ``key = value`` with ``=`` aligned over each run of
    consecutive single-line attributes; labels always quoted; lists inline; non-empty objects
    one key per line; an empty block as ``name "label" {`` + ``}``; no blank lines anywhere
    (as the reference operator's hclwrite output); exactly one trailing newline ("" for no
    items). Raises :class:`HclValueError` for anything OpenBao would not read back verbatim.
    """
    items = items if isinstance(items, tuple | list) else tuple(items)
    lines: list[str] = []
    try:
        _direct_body(items, "", lines)
    except (_GiveUpError, HclValueError):
        return _emit_tokens(items)  # the general writer, which also raises the error with its path
    return "\n".join(lines) + "\n" if lines else ""


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
