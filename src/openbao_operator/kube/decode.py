"""Decoding API responses so that one undecodable object costs only itself, never the list or the watch.

Why this exists: the API server stores objects nested up to 10,000 levels (``x-kubernetes-preserve-unknown-fields``
subtrees), while every Python JSON decoder gives up near 1,000 levels with a ``RecursionError``. Decoding a
LIST page or a watch line as one document meant that a single such object failed the whole page, the
informer died and every other object went unreconciled. So:

1. the fast path decodes the whole body at once (msgspec), as before;
2. if that fails for any reason, a small iterative scanner (:func:`members`, regular expressions over the
   bytes, no recursion) splits the body into its items, each item is decoded on its own, and the ones that
   still fail become :class:`UndecodableObject` records naming the object (its ``metadata`` name, namespace,
   uid and resourceVersion are read from their own small spans of the bytes).

Every failure is a :class:`~.errors.KubeError` (:class:`~.errors.Undecodable`): no ``RecursionError``,
``msgspec`` or ``ValueError`` leaves this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from .errors import Undecodable
from .types import Manifest

_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]')
"""A JSON string (skipped whole, so brackets inside strings do not count) or one structural character."""
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_IDENTITY = ("name", "namespace", "uid", "resourceVersion")
_REASON_LIMIT = 200


@dataclass(frozen=True)
class UndecodableObject:
    """An object the API server sent that could not be decoded; what is known of it, and why."""

    api_version: str
    kind: str
    name: str
    namespace: str
    uid: str
    resource_version: str
    reason: str

    def stub(self) -> Manifest:
        """The object's identity as a manifest (enough to delete it from a cache or record an Event on it)."""
        meta = {"name": self.name, "namespace": self.namespace, "uid": self.uid}
        meta["resourceVersion"] = self.resource_version
        return {"apiVersion": self.api_version, "kind": self.kind, "metadata": {k: v for k, v in meta.items() if v}}

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name or "<unnamed>"
        return f"{self.kind} {where}: {self.reason}"


def _why(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:_REASON_LIMIT]


def decode_json(data: bytes | memoryview, *, what: str) -> Any:
    """``data`` as Python values; any failure (bad JSON, nesting too deep, ...) raises :class:`Undecodable`."""
    try:
        return msgspec.json.decode(data)
    except Exception as exc:  # RecursionError, msgspec.DecodeError, UnicodeError, MemoryError's cousins...
        raise Undecodable(f"cannot decode {what}: {_why(exc)}") from None


def members(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[str | None, int, int]]:
    """The members of the JSON object or array that starts at ``data[start]`` (after whitespace).

    Yields ``(key, value_start, value_end)``; ``key`` is None for array elements. Iterative and linear in
    the length of the container: nesting depth costs nothing. Malformed input yields whatever spans it
    can; decoding a span is what tells whether it was valid.
    """
    end = len(data) if end is None else end
    depth = 0
    key: str | None = None
    pending: bytes | None = None
    value_start = -1
    for match in _TOKEN.finditer(data, start, end):
        token = match.group()
        first = token[0]
        if first in _OPEN:
            depth += 1
            if depth == 1:
                value_start = match.end()
            continue
        if first in _CLOSE:
            depth -= 1
            if depth == 0:
                if value_start >= 0 and data[value_start : match.start()].strip():
                    yield key, value_start, match.start()
                return
            continue
        if depth != 1:
            continue
        if first == ord('"'):
            pending = token
        elif first == ord(":"):
            key = _string(pending)
            value_start = match.end()
        elif first == ord(","):
            yield key, value_start, match.start()
            key, pending, value_start = None, None, match.end()


def _string(token: bytes | None) -> str | None:
    if token is None:
        return None
    try:
        value = json.loads(token)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _member(data: bytes, start: int, end: int, name: str) -> tuple[int, int] | None:
    for key, s, e in members(data, start, end):
        if key == name:
            return s, e
    return None


def identify(data: bytes, start: int, end: int, *, api_version: str, kind: str, reason: str) -> UndecodableObject:
    """What can be read of the object at ``data[start:end]``: its metadata's scalar identity fields."""
    found: dict[str, str] = {}
    span = _member(data, start, end, "metadata")
    if span is not None:
        for key, s, e in members(data, *span):
            if key in _IDENTITY and e - s < 1024:
                value = _string(data[s:e].strip())
                if value is not None:
                    found[key] = value
    return UndecodableObject(
        api_version=api_version,
        kind=kind,
        name=found.get("name", ""),
        namespace=found.get("namespace", ""),
        uid=found.get("uid", ""),
        resource_version=found.get("resourceVersion", ""),
        reason=reason,
    )


@dataclass(frozen=True)
class ListPage:
    """One decoded LIST page."""

    items: list[Manifest]
    undecodable: list[UndecodableObject]
    resource_version: str
    continue_token: str


def _page_meta(meta: Any) -> tuple[str, str]:
    meta = meta if isinstance(meta, dict) else {}
    return str(meta.get("resourceVersion") or ""), str(meta.get("continue") or "")


def decode_list_page(data: bytes, *, api_version: str, kind: str) -> ListPage:
    """A LIST response body; items that cannot be decoded are returned apart, named as well as possible."""
    try:
        body = msgspec.json.decode(data)
    except Exception:  # NB: the slow path below says which item failed and why
        body = None
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        rv, cont = _page_meta(body.get("metadata"))
        whole = [item for item in body["items"] if isinstance(item, dict)]
        return ListPage(items=whole, undecodable=[], resource_version=rv, continue_token=cont)
    spans = {key: (s, e) for key, s, e in members(data)}
    if "items" not in spans:
        raise Undecodable(f"cannot decode a {kind} list: no items in a {len(data)}-byte response")
    rv, cont = "", ""
    if "metadata" in spans:
        rv, cont = _page_meta(decode_json(data[slice(*spans["metadata"])], what=f"the {kind} list's metadata"))
    items: list[Manifest] = []
    undecodable: list[UndecodableObject] = []
    for _, s, e in members(data, *spans["items"]):
        try:
            item = decode_json(data[s:e], what=f"a {kind}")
        except Undecodable as exc:
            undecodable.append(identify(data, s, e, api_version=api_version, kind=kind, reason=exc.message))
            continue
        if isinstance(item, dict):
            items.append(item)
        else:
            reason = f"not an object: {type(item).__name__}"
            undecodable.append(identify(data, s, e, api_version=api_version, kind=kind, reason=reason))
    return ListPage(items=items, undecodable=undecodable, resource_version=rv, continue_token=cont)


@dataclass(frozen=True)
class WatchLine:
    """One decoded watch line: ``object`` is None exactly when ``undecodable`` is set."""

    type: str
    object: Manifest | None
    undecodable: UndecodableObject | None = None


def decode_watch_line(line: bytes, *, api_version: str, kind: str) -> WatchLine:
    """One line of a watch stream (``{"type": ..., "object": ...}``)."""
    try:
        body = msgspec.json.decode(line)
    except Exception:
        body = None
    if isinstance(body, dict) and isinstance(body.get("type"), str) and isinstance(body.get("object"), dict):
        return WatchLine(type=body["type"], object=body["object"])
    spans = {key: (s, e) for key, s, e in members(line)}
    type_ = _string(line[slice(*spans["type"])].strip()) if "type" in spans else None
    if type_ is None or "object" not in spans:
        raise Undecodable(f"cannot decode a {kind} watch event ({len(line)} bytes)")
    s, e = spans["object"]
    try:
        obj = decode_json(line[s:e], what=f"a {kind}")
    except Undecodable as exc:
        named = identify(line, s, e, api_version=api_version, kind=kind, reason=exc.message)
        return WatchLine(type=type_, object=None, undecodable=named)
    if not isinstance(obj, dict):
        raise Undecodable(f"a {kind} watch event carries {type(obj).__name__}, not an object")
    return WatchLine(type=type_, object=obj)
