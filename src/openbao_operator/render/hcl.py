"""A small HCL writer for OpenBao's ``config.hcl``, and the string rule that keeps it safe.

Why this exists: OpenBao reads its configuration with HCL *v1* (``hashicorp/hcl``), while the
tools around HCL today (hclwrite, python-hcl2) speak HCL2. The two disagree on strings: HCL2
writes a literal ``${`` as ``$${`` and HCL v1 never undoes that, so a value that goes through an
HCL2 writer can reach OpenBao changed. python-hcl2's own dumper also writes strings as bare
expressions. So we write the file ourselves from a frozen intermediate model (``Block`` /
``Attr``), with the byte layout of hclwrite's formatter (as the reference operator writes it), and we
never escape anything except ``\\"`` and ``\\\\``: a string that cannot be written that way
is rejected with :class:`HclValueError`, never rewritten into something else.

The same rule is exported as :func:`unsafe_reason` and :data:`SAFE_STRING_PATTERN`, so the
API models can refuse such a value at admission instead of at render time.

Pure code: no I/O, no clock, no randomness; the output depends only on the items and their
order, which the caller chooses.
"""

from __future__ import annotations

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
    bad = _BAD_CHAR.search(s)  # one C-speed scan instead of a Python loop
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


def _number(v: int | float) -> str:
    if isinstance(v, int):
        if not _INT_MIN <= v <= _INT_MAX:
            raise _CheckError(f"integer {v} does not fit in 64 bits")
        return str(v)
    if not math.isfinite(v):
        raise _CheckError(f"{v!r} has no HCL literal")
    # Plain decimal notation (hclwrite writes numbers with Go's 'f' format, never an exponent),
    # always with a fraction: without one HCL v1 lexes an integer and fails on 1e20 (int64).
    text = format(Decimal(repr(v)), "f")
    return text if "." in text else text + ".0"


# --- the writer -----------------------------------------------------------------------------
#
# One pass over the model, one string per output line. A body is a sequence of runs of single-line
# attributes (``=`` aligned once per run from the widths of their names: hclwrite's formatCells), nested
# blocks and multi-line objects, each one indent level deeper. The one shape hclwrite lays out by bracket
# counting rather than by nesting, a non-empty object inside a list, is written by :func:`_bracketed`.
# tests/unit/render/hcl_oracle.py is hclwrite's token formatter transcribed; property tests hold the two
# to the same bytes and the same errors.


class _CheckError(Exception):
    """A check failed. The path is put together while the exception travels up, so a render that fails
    nothing never builds one (a ``try`` costs nothing until something is raised)."""

    def __init__(self, reason: str, segment: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.segments = [segment] if segment else []

    def within(self, segment: str) -> _CheckError:
        """Add the enclosing item's part of the path (``.name``, `` "label"``, ``[0]``, ``["key"]``)."""
        self.segments.append(segment)
        return self

    def error(self) -> HclValueError:
        return HclValueError("".join(reversed(self.segments)).removeprefix("."), self.reason)


class _ObjectInListError(Exception):
    """A value holds a non-empty object inside a list: its entry is written by :func:`_bracketed`."""


# Memos: a cluster renders the same names, constants and spec strings on every reconcile, so each is
# checked (and quoted) once. Pure (an entry depends only on its key) and bounded (emptied when full).
# Plain dicts because a lookup is several times cheaper than an lru_cache call, and these are looked up
# for nearly every line.
_MEMO_MAX = 4096
_QUOTED: dict[str, str] = {}  # safe string -> its quoted form
_BARE_NAMES: set[str] = set()  # strings that are valid names (also written bare as object keys)


def _quote(s: str) -> str:
    """``s`` in quotes. The only escapes: with controls, ``${`` and ``%{`` excluded, HCL v1 and HCL2 both
    read ``\\"`` and ``\\\\`` back as the characters themselves, and every other character stands for itself."""
    quoted = _QUOTED.get(s)
    if quoted is None:
        reason = unsafe_reason(s)
        if reason is not None:
            raise _CheckError(reason)
        quoted = '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if len(_QUOTED) >= _MEMO_MAX:
            _QUOTED.clear()
        _QUOTED[s] = quoted
    return quoted


def _quote_pem(s: str) -> str:
    if not _PEM_TEXT.fullmatch(s):
        raise _CheckError("not a PEM text (BEGIN line, base64 lines, END line)")
    return '"' + s.replace("\n", "\\n") + '"'


def _is_bare(name: str) -> bool:
    """Whether a str is a plain identifier that no parser reads as a keyword."""
    if name in _BARE_NAMES:
        return True
    if _BARE_KEY.fullmatch(name) is None or name in _KEYWORDS:
        return False
    if len(_BARE_NAMES) >= _MEMO_MAX:
        _BARE_NAMES.clear()
    _BARE_NAMES.add(name)
    return True


def _check_name(name: object) -> str:
    """Attribute names and block types: plain identifiers; the path segment of the item."""
    if not isinstance(name, str) or not _is_bare(name):
        raise _CheckError(f"{name!r} is not a valid attribute or block name", f".{name}")
    return name


def _key(k: object) -> tuple[str, str]:
    """An object key as written (bare when it is a plain identifier, quoted otherwise) and its path segment."""
    if not isinstance(k, str) or not k:
        raise _CheckError(f"object key {k!r} must be a non-empty string")
    if _is_bare(k):
        return k, f".{k}"
    quoted = _quote(k)
    return quoted, f"[{quoted}]"


_ALIGN = tuple(" " * n + "= " for n in range(1, 129))
"""``_ALIGN[n]``: the gap and ``= `` after a name ``n`` columns narrower than the widest of its run."""
_MAPPINGS = (dict, MappingProxyType)
_LISTS = (tuple, list)


def _value(v: object) -> str | None:
    """A single-line value as text, ``None`` for a non-empty object (written over several lines).

    Exact types first (nearly every value is one); then, in :func:`_other`, the subclasses and other
    mappings and sequences a model may hold.
    """
    t = type(v)
    if t is str:
        return _QUOTED.get(v) or _quote(v)  # type: ignore[arg-type, call-overload]
    if t is bool:
        return "true" if v else "false"
    if t is int:
        if not _INT_MIN <= v <= _INT_MAX:  # type: ignore[operator]
            raise _CheckError(f"integer {v} does not fit in 64 bits")
        return str(v)
    if t in _LISTS:
        return _list(v)  # type: ignore[arg-type]
    if t in _MAPPINGS:
        return None if v else "{}"
    if t is float:
        text = repr(v)
        if "e" in text or "n" in text:  # an exponent, inf or nan
            return _number(v)  # type: ignore[arg-type]
        return text  # plain decimal digits with a fraction: what _number writes (via Decimal) too
    return _other(v)


def _other(v: object) -> str | None:
    if isinstance(v, int | float):  # bool is exact (it cannot be subclassed): handled in _value
        return _number(v)
    if isinstance(v, PemText):
        return _quote_pem(v)
    if isinstance(v, str):
        return _quote(v)
    if isinstance(v, Mapping):
        return None if v else "{}"
    if isinstance(v, Sequence) and not isinstance(v, bytes | bytearray):
        return _list(v)
    raise _CheckError(f"{type(v).__name__} has no HCL literal")


def _list(v: Sequence[object]) -> str:
    parts: list[str] = []
    for x in v:
        try:
            part = _value(x)
        except _CheckError as fail:
            raise fail.within(f"[{len(parts)}]") from None
        if part is None:
            raise _ObjectInListError
        parts.append(part)
    return "[" + ", ".join(parts) + "]"


def _run(leads: list[str], values: list[str], indent: str, out: list[str], widths: list[int]) -> None:
    """A run of single-line ``lead = value`` lines with ``=`` aligned (hclwrite's formatCells); empties it."""
    widest = max(widths)
    rows = zip(leads, values, widths, strict=True)
    if widest < len(_ALIGN):
        out += [f"{indent}{lead}{_ALIGN[widest - w]}{v}" for lead, v, w in rows]
    else:
        out += [f"{indent}{lead}{' ' * (widest - w + 1)}= {v}" for lead, v, w in rows]
    leads.clear()
    values.clear()
    widths.clear()


def _object(v: Mapping[object, object], indent: str, out: list[str]) -> None:
    """The lines of a non-empty object between ``key = {`` and ``}``."""
    leads: list[str] = []
    values: list[str] = []
    widths: list[int] = []  # quoted keys may hold any character: widths as hclwrite counts them
    for k, x in v.items():
        key, segment = (k, "." + k) if type(k) is str and k in _BARE_NAMES else _key(k)
        try:
            text = _value(x)
            if text is not None:
                leads.append(key)
                values.append(text)
                widths.append(len(key) if key.isascii() else _width(key))
                continue
            if leads:
                _run(leads, values, indent, out, widths)
            out.append(f"{indent}{key} = {{")
            _object(x, indent + "  ", out)  # type: ignore[arg-type]
            out.append(f"{indent}}}")
        except _ObjectInListError:
            if leads:
                _run(leads, values, indent, out, widths)
            try:
                _bracketed(key, x, indent, out)
            except _CheckError as fail:
                raise fail.within(segment) from None
        except _CheckError as fail:
            raise fail.within(segment) from None
    if leads:
        _run(leads, values, indent, out, widths)


def _names(names: list[str], values: list[str], widest: int, indent: str, out: list[str]) -> None:
    """:func:`_run` for a body's attributes: names are ASCII, the widest is known; empties the run."""
    if widest < len(_ALIGN):
        out += [f"{indent}{name}{_ALIGN[widest - len(name)]}{v}" for name, v in zip(names, values, strict=True)]
    else:
        out += [f"{indent}{name}{' ' * (widest - len(name) + 1)}= {v}" for name, v in zip(names, values, strict=True)]
    names.clear()
    values.clear()


def _body(items: Iterable[object], indent: str, out: list[str]) -> None:
    seen: dict[object, bool] = {}  # name -> whether an attribute has it (else only blocks)
    names: list[str] = []  # the current run of single-line attributes
    values: list[str] = []
    widest = 0
    for item in items:
        if isinstance(item, Attr):
            name = item.name if type(item.name) is str and item.name in _BARE_NAMES else _check_name(item.name)
            if name in seen:
                # Duplicates would be merged or overwritten differently by each parser, so a body names
                # each attribute once.
                raise _CheckError("duplicate name in this body", f".{name}")
            seen[name] = True
            v = item.value
            text: str | None
            try:
                if type(v) is str:  # the common cases inline; the rest as in _value
                    text = _QUOTED.get(v) or _quote(v)
                elif type(v) is bool:
                    text = "true" if v else "false"
                else:
                    text = _value(v)
                if text is not None:
                    names.append(name)
                    values.append(text)
                    if len(name) > widest:  # a valid name is ASCII: its width is its length
                        widest = len(name)
                    continue
                if names:
                    _names(names, values, widest, indent, out)
                    widest = 0
                out.append(f"{indent}{name} = {{")
                _object(v, indent + "  ", out)  # type: ignore[arg-type]  # None: a non-empty mapping
                out.append(f"{indent}}}")
            except _ObjectInListError:
                if names:
                    _names(names, values, widest, indent, out)
                    widest = 0
                try:
                    _bracketed(name, v, indent, out)
                except _CheckError as fail:
                    raise fail.within(f".{name}") from None
            except _CheckError as fail:
                raise fail.within(f".{name}") from None
        elif isinstance(item, Block):
            kind = item.type
            if seen.get(kind):
                raise _CheckError("duplicate name in this body (attribute and block)", f".{kind}")
            seen.setdefault(kind, False)
            header = _check_name(kind)
            where = f".{kind}"
            for label in item.labels:
                # Labels are always quoted (HCL v1 would accept bare ones, HCL2 tools would not).
                try:
                    if not isinstance(label, str) or not label:
                        raise _CheckError(f"label {label!r} must be a non-empty string")
                    quoted = _quote(label)
                except _CheckError as fail:
                    raise fail.within(where) from None
                header += " " + quoted
                where += " " + quoted
            if names:
                _names(names, values, widest, indent, out)
                widest = 0
            out.append(f"{indent}{header} {{")
            try:
                _body(item.body, indent + "  ", out)
            except _CheckError as fail:
                raise fail.within(where) from None
            out.append(f"{indent}}}")
        else:
            raise _CheckError(f"{type(item).__name__} is not an Attr or a Block")
    if names:
        _names(names, values, widest, indent, out)


def _bracketed(lead: str, v: object, indent: str, out: list[str]) -> None:
    """``lead = v`` where ``v`` holds a non-empty object inside a list, laid out as hclwrite does it.

    hclwrite indents such a value by counting brackets, not by nesting: a line that opens brackets
    starts one indentation level (however many it opens), a line that closes them ends as many levels as
    it takes to close that many. So ``a = [{x = 1}, {y = 2}]`` becomes ``a = [{``, ``  x = 1``,
    ``  }, {``, ``  y = 2``, ``}]``. The value is cut into lines at the line breaks of its objects, with
    each line's bracket balance, then indented and aligned in two passes (formatIndent, formatCells).
    """
    lines: list[tuple[str, str | None, int]] = []  # (lead, "= value" cell of an alignable line, balance)
    parts: list[str] = [lead]
    state = {"net": 0, "eq": 0, "eq_net": 0}

    def newline() -> None:
        eq = state["eq"]
        if eq and state["net"] == state["eq_net"]:  # the brackets after "=" balance: an alignable cell
            lines.append(("".join(parts[:eq]), "".join(parts[eq:]), state["net"]))
        elif eq:
            lines.append(("".join(parts[:eq]) + " " + "".join(parts[eq:]), None, state["net"]))
        else:
            lines.append(("".join(parts), None, state["net"]))
        parts.clear()
        state.update(net=0, eq=0)

    def equals() -> None:
        state.update(eq=len(parts), eq_net=state["net"])
        parts.append("= ")

    def value(x: object) -> None:
        if isinstance(x, Mapping) and x:
            parts.append("{")
            state["net"] += 1
            newline()
            for k, y in x.items():
                key, segment = _key(k)
                parts.append(key)
                equals()
                try:
                    value(y)
                except _CheckError as fail:
                    raise fail.within(segment) from None
                newline()
            parts.append("}")
            state["net"] -= 1
        elif isinstance(x, Sequence) and not isinstance(x, str | bytes | bytearray):
            parts.append("[")
            state["net"] += 1
            for i, y in enumerate(x):
                if i:
                    parts.append(", ")
                try:
                    value(y)
                except _CheckError as fail:
                    raise fail.within(f"[{i}]") from None
            parts.append("]")
            state["net"] -= 1
        else:
            parts.append(_value(x) or "{}")  # a scalar, or an empty object

    equals()
    value(v)
    newline()
    # formatIndent: a stack of "brackets opened" per indentation level.
    levels: list[int] = []
    indents: list[int] = []
    for _, _, net in lines:
        if net > 0:
            indents.append(2 * len(levels))
            levels.append(net)
            continue
        closed = -net
        while closed > 0 and levels:
            if closed >= levels[-1]:
                closed -= levels.pop()
            else:
                levels[-1] -= closed
                closed = 0
        indents.append(2 * len(levels))
    # formatCells: align "=" over each run of consecutive alignable lines.
    pads = [1] * len(lines)
    run: list[int] = []
    for i in [*range(len(lines)), -1]:
        if i >= 0 and lines[i][1] is not None:
            run.append(i)
            continue
        if run:
            widest = max(indents[j] + _width(lines[j][0]) for j in run)
            for j in run:
                pads[j] = widest - indents[j] - _width(lines[j][0]) + 1
            run.clear()
    for (text, cell, _), extra, pad in zip(lines, indents, pads, strict=True):
        out.append(f"{indent}{' ' * extra}{text}" + (f"{' ' * pad}{cell}" if cell is not None else ""))


def emit(items: Iterable[Item]) -> str:
    """Write ``items`` as HCL with hclwrite's canonical layout.

    Two-space indent per nesting level; ``key = value`` with ``=`` aligned over each run of
    consecutive single-line attributes; labels always quoted; lists inline; non-empty objects
    one key per line; an empty block as ``name "label" {`` + ``}``; no blank lines anywhere
    (as the reference operator's hclwrite output); exactly one trailing newline ("" for no
    items). Raises :class:`HclValueError`, naming the item, for anything OpenBao would not read
    back verbatim.
    """
    lines: list[str] = []
    try:
        _body(items, "", lines)
    except _CheckError as fail:
        raise fail.error() from None
    return "\n".join(lines) + "\n" if lines else ""
