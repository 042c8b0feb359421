"""Plain value types shared by kube and the layers above it.

Why plain dicts for objects: the renderer produces manifests as dicts, the diff compares dicts, and the API
speaks JSON; a typed model in between would drop unknown fields and reformat int-or-string values, which is
exactly what makes a client-side diff lie.
"""

from __future__ import annotations

from typing import Any, NamedTuple

Manifest = dict[str, Any]
"""A Kubernetes object as JSON-like data (``apiVersion``, ``kind``, ``metadata``, ...)."""


class ObjectKey(NamedTuple):
    """Identity of an object of a known kind: ``namespace`` is ``""`` for cluster-scoped objects."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @classmethod
    def of(cls, obj: Manifest) -> ObjectKey:
        """The key of an object from its metadata."""
        meta = obj.get("metadata") or {}
        return cls(str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def meta(obj: Manifest) -> dict[str, Any]:
    """``obj['metadata']`` or an empty dict (never None)."""
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}
