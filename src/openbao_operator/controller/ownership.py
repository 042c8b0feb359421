"""Whose object is it: the one rule for writing over, adopting, or leaving alone a live object of our name.

Why a rule of its own: server-side apply with force takes over any object of the same name, and a
delete by name removes whatever is there. Another team's Service called ``<name>-public``, a
StatefulSet of another controller, or a cluster of the same name that is still being deleted would be
rewritten or removed. Kubernetes' own controllers answer this with ownerReferences, and so does this one:

- **ours**: a controller ownerReference with this cluster's uid. Written, pruned, deleted as the
  deletion policy says.
- **orphan**: no controller ownerReference at all, but this operator's labels for this very cluster
  (``app.kubernetes.io/managed-by=openbao-operator`` and ``openbao.org/cluster=<name>``). What an orphaning
  delete (``--cascade=orphan``) or a restore leaves behind: adopted, as a ReplicaSet adopts its pods, by
  writing our ownerReference.
- **foreign**: anything else (another controller, or none and not our labels). Never written, never
  deleted; the cluster reports it (``ForeignObject``, naming the object and what would let us proceed).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from openbao_operator.api import names


class Ownership(enum.Enum):
    ABSENT = "absent"
    OURS = "ours"
    ORPHAN = "orphan"
    FOREIGN = "foreign"

    @property
    def writable(self) -> bool:
        return self is not Ownership.FOREIGN


def controlled_by(obj: Mapping[str, Any], owner_uid: str) -> bool:
    """A controller ownerReference with this uid."""
    return any(ref.get("controller") and ref.get("uid") == owner_uid for ref in _refs(obj))


def ownership(live: Mapping[str, Any] | None, *, owner_uid: str, cluster_name: str) -> Ownership:
    if live is None:
        return Ownership.ABSENT
    if controlled_by(live, owner_uid):
        return Ownership.OURS
    if any(ref.get("controller") for ref in _refs(live)):
        return Ownership.FOREIGN
    labels = (live.get("metadata") or {}).get("labels") or {}
    if labels.get(names.LABEL_MANAGED_BY) == names.MANAGED_BY and labels.get(names.LABEL_CLUSTER) == cluster_name:
        return Ownership.ORPHAN
    return Ownership.FOREIGN


def foreign_message(obj: Mapping[str, Any], *, cluster_name: str) -> str:
    """What is in the way and how to clear it (for a ``ForeignObject`` condition and Event)."""
    meta = obj.get("metadata") or {}
    where = f"{obj.get('kind', 'object')} {meta.get('name')}"
    controller = next((ref for ref in _refs(obj) if ref.get("controller")), None)
    if controller is not None:
        held = f"is controlled by {controller.get('kind')} {controller.get('name')} (uid {controller.get('uid')})"
        remedy = "wait until its owner is gone, or rename this cluster"
    else:
        held = "exists and was not created for this cluster (no ownerReference, no openbao-operator labels)"
        remedy = (
            f"delete or rename it, or label it {names.LABEL_MANAGED_BY}={names.MANAGED_BY} and "
            f"{names.LABEL_CLUSTER}={cluster_name} to let the operator adopt it"
        )
    return f"{where} {held}; the operator does not take it over: {remedy}"


def _refs(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((obj.get("metadata") or {}).get("ownerReferences") or ())
