"""The applied-hash annotation: a fingerprint of the whole manifest we last applied, carried by the object.

Why: the one-sided diff (:mod:`.diff`) cannot see a field we stopped sending. Stamping a hash of the desired
manifest into an annotation that the manifest itself sends turns any change to what we send (a removed
label, a dropped port) into a changed annotation value, which the diff does see. The hash lives on the
object, so it survives operator restarts and needs no state in the operator.

Secrets: the hash never covers secret values (only the key names of ``data``/``stringData``), so the
annotation cannot be used to test guesses of a secret offline. Changed values are still caught by the
field diff itself, which compares ``data`` with live.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

APPLIED_HASH_ANNOTATION = "openbao.org/applied-hash"


def _strip_none(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def applied_hash(manifest: Mapping[str, Any], *, annotation: str = APPLIED_HASH_ANNOTATION) -> str:
    """SHA-256 (hex, first 32 digits) of the canonical JSON of ``manifest`` without the hash annotation."""
    # NB: _strip_none builds new dicts and lists all the way down, so what is popped below is its copy
    body = _strip_none(manifest)
    annotations = (body.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(annotation, None)
    if body.get("kind") == "Secret":
        for field in ("data", "stringData"):
            if isinstance(body.get(field), dict):
                body[field] = sorted(body[field])
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def stamped(manifest: Mapping[str, Any], *, annotation: str = APPLIED_HASH_ANNOTATION) -> dict[str, Any]:
    """A copy of ``manifest`` carrying its own applied hash in ``metadata.annotations[annotation]``.

    The copy is new down to the annotations; deeper values are shared with ``manifest`` (neither is changed
    afterwards: both are sent or compared, never edited)."""
    out = dict(manifest)
    metadata = dict(out.get("metadata") or {})
    annotations = dict(metadata.get("annotations") or {})
    annotations[annotation] = applied_hash(manifest, annotation=annotation)
    metadata["annotations"] = annotations
    out["metadata"] = metadata
    return out
