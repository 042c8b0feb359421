"""Immutable StatefulSet fields: when the desired StatefulSet cannot be reached by an update, and storage.

Why a decision before the apply: the API server refuses an update that changes ``selector``,
``serviceName``, ``podManagementPolicy`` or ``volumeClaimTemplates`` (422), and re-sending it on every pass
is a loop that never converges. So the desired and live StatefulSets are compared on exactly those
fields first:

- a difference the user may make (a reference-operator StatefulSet with OrderedReady, a larger volume
  where the StorageClass can expand it) is reached by deleting the StatefulSet with **orphan**
  propagation (its pods and PVCs stay, running and bound) and creating it anew; the new StatefulSet
  adopts the pods by their labels;
- a larger ``storage.size`` first expands the existing PVCs (bound ones; the API refuses to resize an
  unbound claim), then the claim template follows by the recreate above;
- a smaller size, a new storage class, or a size the StorageClass cannot expand is refused: the live
  claim templates are kept in the desired object (so every other change still applies) and the refusal
  becomes a condition naming ``spec.storage``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openbao_operator.kube import Manifest, differences, parse_quantity

IMMUTABLE = ("selector", "serviceName", "podManagementPolicy", "volumeClaimTemplates")
DEFAULT_POD_MANAGEMENT = "OrderedReady"


@dataclass(frozen=True)
class Refusal:
    reason: str
    message: str


@dataclass(frozen=True)
class StatefulSetPlan:
    desired: Manifest = field(repr=False)
    """What to apply (live claim templates substituted where a change was refused)."""
    recreate: tuple[str, ...] = ()
    """Immutable fields that differ: delete with orphan propagation, then create."""
    expand_to: str | None = None
    """Grow the existing PVCs to this size first."""
    refusal: Refusal | None = None


def _templates(sts: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    spec = sts.get("spec") or {}
    return {str((t.get("metadata") or {}).get("name")): t for t in spec.get("volumeClaimTemplates") or ()}


def _storage(template: Mapping[str, Any]) -> str | None:
    value = (((template.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
    return str(value) if value is not None else None


def _class(template: Mapping[str, Any]) -> str | None:
    value = (template.get("spec") or {}).get("storageClassName")
    return str(value) if value else None


def _without_storage(template: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(template))
    out.pop("apiVersion", None)
    out.pop("kind", None)
    requests = ((out.get("spec") or {}).get("resources") or {}).get("requests")
    if isinstance(requests, dict):
        requests.pop("storage", None)
    return out


def compare_sizes(a: str, b: str) -> int | None:
    """-1, 0 or 1 as quantity ``a`` is smaller than, equal to or larger than ``b``; None if either does not parse."""
    qa, qb = parse_quantity(a), parse_quantity(b)
    if qa is None or qb is None:
        return None
    return (qa > qb) - (qa < qb)


def size_change(desired: Manifest, live: Manifest) -> tuple[str, str] | None:
    """(live size, desired size) of the ``data`` template when the desired one is larger."""
    want, have = _templates(desired).get("data"), _templates(live).get("data")
    if want is None or have is None:
        return None
    want_size, have_size = _storage(want), _storage(have)
    if want_size is None or have_size is None:
        return None
    return (have_size, want_size) if compare_sizes(want_size, have_size) == 1 else None


def plan_statefulset(desired: Manifest, live: Manifest | None, *, expansion_allowed: bool | None) -> StatefulSetPlan:
    """Compare the immutable fields; ``expansion_allowed`` matters only when the size grows (None: unknown)."""
    if live is None:
        return StatefulSetPlan(desired=desired)
    want_spec, have_spec = desired.get("spec") or {}, live.get("spec") or {}
    recreate: list[str] = []
    if differences(want_spec.get("selector"), have_spec.get("selector")):
        recreate.append("selector")
    if want_spec.get("serviceName") != have_spec.get("serviceName"):
        recreate.append("serviceName")
    want_pmp = want_spec.get("podManagementPolicy") or DEFAULT_POD_MANAGEMENT
    if want_pmp != (have_spec.get("podManagementPolicy") or DEFAULT_POD_MANAGEMENT):
        recreate.append("podManagementPolicy")

    refusal: Refusal | None = None
    expand_to: str | None = None
    wanted, held = _templates(desired), _templates(live)
    template_change = set(wanted) != set(held)
    for name, want in wanted.items():
        have = held.get(name)
        if have is None:
            continue
        if differences(_without_storage(want), _without_storage(have)):
            template_change = True
        if _class(want) != _class(have):
            refusal = Refusal(
                "StorageClassChangeNotSupported",
                f"spec.storage.storageClassName: the volumes use {_class(have) or 'the default class'}; a new "
                "class cannot be applied to existing volumes (restore the previous value, or migrate the data "
                "to a new cluster)",
            )
            continue
        want_size, have_size = _storage(want), _storage(have)
        order = compare_sizes(want_size, have_size) if want_size and have_size else None
        if want_size is None or have_size is None or not order:
            continue
        if order < 0:
            refusal = Refusal(
                "StorageShrinkNotSupported",
                f"spec.storage.size: {want_size} is smaller than the volumes' {have_size}; volumes cannot shrink "
                f"(set it back to at least {have_size})",
            )
        elif expansion_allowed:
            expand_to = want_size
            template_change = True
        else:
            refusal = Refusal(
                "StorageResizeNotSupported",
                f"spec.storage.size: the StorageClass of the volumes does not allow expansion "
                f"(allowVolumeExpansion is not true); the volumes stay at {have_size}",
            )
    if refusal is not None:
        # keep the live templates: every other change still applies, and no update is refused
        desired = copy.deepcopy(desired)
        desired["spec"]["volumeClaimTemplates"] = [
            {k: v for k, v in copy.deepcopy(dict(t)).items() if k != "status"}
            for t in have_spec.get("volumeClaimTemplates") or ()
        ]
        expand_to = None
        template_change = False
    if template_change:
        recreate.append("volumeClaimTemplates")
    return StatefulSetPlan(desired=desired, recreate=tuple(recreate), expand_to=expand_to, refusal=refusal)
