"""YAML in and out for manifests: safe loading, and a stable dump (no anchors, keys in model order)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml


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


def load_all(text: str) -> list[Any]:
    """Every non-empty document of a YAML stream (safe loader only)."""
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]
