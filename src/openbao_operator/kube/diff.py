"""THE diff: does the live object already hold everything we would send? If so, no write.

Why not compare whole objects: the API server adds fields we never sent (defaults, status, managedFields,
other managers' labels), canonicalises quantities (``0.5`` → ``500m``, ``1024Mi`` → ``1Gi``) and drops
zero values of ``omitempty`` fields. So the question asked here is one-sided: is every field we send present
in live with an equal value? Extra live fields are other owners' business and are tolerated.

A one-sided check cannot see a field we *stopped* sending (SSA would remove it on the next apply). That case
is covered by :mod:`.applied`: the applier stamps a hash of the whole desired manifest into an annotation, so
any change to what we send, removals included, changes an annotation value we send, which this diff sees.

Lists: a list whose elements all carry a unique merge key (``name``, ``containerPort``, ``port``, ``type``,
``uid``, ``mountPath``) is matched by that key and may hold extra live elements (SSA ``listType=map``, where
other managers may own entries). Any other list is compared element by element with equal lengths, as SSA
treats it as atomic.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from .quantity import same_quantity

MERGE_KEYS = ("name", "containerPort", "port", "type", "uid", "mountPath")
_MISSING: Any = object()


def differences(desired: Any, live: Any, path: str = "") -> list[str]:
    """Field paths (``spec.template.spec.containers[name=bao].image``) where live does not satisfy desired."""
    out: list[str] = []
    _diff(desired, _MISSING if live is None else live, path, out)
    return out


def in_sync(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> bool:
    """True when writing ``desired`` would change nothing we own (``live`` None means absent: never in sync)."""
    return live is not None and not differences(normalize_desired(desired), live)


def normalize_desired(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the server will store for ``obj`` where that is knowable without asking it.

    Only one rewrite is needed: a Secret's ``stringData`` is stored base64-encoded into ``data``. The result
    shares everything else with ``obj`` (the diff only reads it).
    """
    out = dict(obj)
    if out.get("kind") == "Secret" and out.get("apiVersion") == "v1" and out.get("stringData"):
        data = dict(out.get("data") or {})
        for key, value in out.pop("stringData").items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        out["data"] = data
    return out


def _is_zero(value: Any) -> bool:
    """Zero values an ``omitempty`` field loses on the server: sending them is the same as not sending them."""
    return value is None or value is False or value == 0 or value in ("", {}, [])


def _diff(desired: Any, live: Any, path: str, out: list[str]) -> None:
    if desired is None:
        return  # null in an apply body expresses no opinion
    if live is _MISSING or live is None:
        if not _is_zero(desired):
            out.append(path or ".")
        return
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            out.append(path or ".")
            return
        for key, value in desired.items():
            _diff(value, live.get(key, _MISSING), f"{path}.{key}" if path else str(key), out)
        return
    if isinstance(desired, list):
        _diff_list(desired, live, path, out)
        return
    if not _same_scalar(desired, live):
        out.append(path or ".")


def _merge_key(items: Sequence[Any]) -> str | None:
    """The first merge key every element has, with distinct values; None when the list is atomic."""
    if not items or not all(isinstance(i, Mapping) for i in items):
        return None
    for key in MERGE_KEYS:
        values = [i.get(key) for i in items]
        if all(v is not None for v in values) and len(set(map(str, values))) == len(values):
            return key
    return None


def _diff_list(desired: list[Any], live: Any, path: str, out: list[str]) -> None:
    if not isinstance(live, list):
        out.append(path)
        return
    key = _merge_key(desired)
    if key is not None and all(isinstance(i, Mapping) for i in live):
        by_key = {str(i.get(key)): i for i in live}
        for item in desired:
            _diff(item, by_key.get(str(item[key]), _MISSING), f"{path}[{key}={item[key]}]", out)
        return
    if len(desired) != len(live):
        out.append(path)
        return
    for index, (want, have) in enumerate(zip(desired, live, strict=True)):
        _diff(want, have, f"{path}[{index}]", out)


def _same_scalar(desired: Any, live: Any) -> bool:
    if desired == live and type(desired) is type(live):
        return True
    if isinstance(desired, bool) or isinstance(live, bool):
        return False
    if isinstance(desired, int | float) and isinstance(live, int | float):
        return bool(desired == live)
    # int-or-string fields (ports, maxUnavailable): 8200 and "8200" are the same value.
    if (isinstance(desired, int) and isinstance(live, str)) or (isinstance(desired, str) and isinstance(live, int)):
        return str(desired) == str(live)
    # Quantities the server canonicalised: "0.5" == "500m", "1024Mi" == "1Gi", 2 == "2".
    return same_quantity(desired, live)
