"""YAML in and out for manifests: strict, bounded loading, and a stable dump (no anchors, keys in model order).

Why not plain ``yaml.safe_load_all``: a 2.4 kB file of nested aliases expands to hundreds of millions of
nodes (and every consumer walks the expansion), flow collections nested a few hundred thousand deep crash
libyaml's composer and exhaust Python's recursion limit in the pure-Python one, and a repeated key silently
keeps the last value where ``kubectl`` (strict decoding) refuses the file. So loading is two passes:

1. the event stream (libyaml when available; it yields events lazily, so a hostile input is stopped after
   a bounded amount of work) is checked for nesting depth and for the size the document would have with
   every alias expanded;
2. only then are the documents built, by a loader that refuses duplicate mapping keys.

Every refusal is a :class:`ManifestYamlError` naming the line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

MAX_BYTES = 3 * 1024 * 1024
"""The API server's request size limit: no manifest it would accept is larger."""
MAX_DEPTH = 64
"""Nesting levels of one document; the models allow 32 under ``spec`` and name the field beyond that."""
MAX_NODES = 100_000
"""Nodes of one document with every alias expanded (a large real manifest has a few thousand)."""

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class ManifestYamlError(ValueError):
    """The text is not a YAML stream this project loads; the message names the line."""


def _where(mark: Any) -> str:
    """``line N: `` for a mark of either parser (pure Python or libyaml)."""
    return f"line {mark.line + 1}: " if mark is not None else ""


class _StrictLoader(_Base):  # type: ignore[valid-type, misc]
    """The safe loader (C when available) that refuses a key repeated in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue  # merged keys may be overridden: that is what a merge is for
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:
                    continue  # an unhashable key: the base constructor reports it
                if first is not key_node:
                    raise ManifestYamlError(
                        f"{_where(key_node.start_mark)}duplicate key {_brief_key(key)} "
                        f"(first at line {first.start_mark.line + 1})"
                    )
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


LOADER: type[yaml.SafeLoader] = _StrictLoader
"""The loader :func:`load_all` uses (built on ``yaml.CSafeLoader`` when libyaml is available)."""


def _brief_key(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_events(text: str) -> None:
    """Walk the event stream once: nesting depth and expanded size, stopping at the first excess."""
    sizes: dict[str, int] = {}  # expanded size of each anchored node
    stack: list[list[Any]] = []  # [anchor, expanded size] of each open collection
    total = 0  # expanded size of the current document
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, yaml.DocumentStartEvent):
            total = 0
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
            if anchor is not None:
                sizes[anchor] = size
            if stack:
                stack[-1][1] += size
            continue
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise ManifestYamlError(f"{_where(event.start_mark)}nested deeper than {MAX_DEPTH} levels")
            stack.append([event.anchor, 1])
            total += 1
            continue
        if isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            # NB: an undefined alias is left for the loader to report in its own words.
            size = sizes.get(event.anchor or "", 1)
        else:
            continue
        if stack:
            stack[-1][1] += size
        total += size
        if total > MAX_NODES:
            raise ManifestYamlError(
                f"{_where(event.start_mark)}the document's aliases expand to more than {MAX_NODES} nodes"
            )


def load_all(text: str) -> list[Any]:
    """Every non-empty document of a YAML stream; raises ``yaml.YAMLError`` or :class:`ManifestYamlError`."""
    if len(text) > MAX_BYTES:
        raise ManifestYamlError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB (the API server's request limit)")
    _check_events(text)
    return [doc for doc in yaml.load_all(text, Loader=LOADER) if doc is not None]


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Multi-line strings (config.hcl) as literal blocks, so they read as they are.
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def dump_all(documents: Iterable[Any]) -> str:
    """Multi-document YAML, each document starting with `---`, keys in insertion order."""
    return yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, explicit_start=True, width=120, allow_unicode=True)
